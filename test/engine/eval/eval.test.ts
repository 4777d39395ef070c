import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  answersMatch,
  boxedContents,
  extractAnswer,
  normalizeAnswer,
} from "../../../src/engine/eval/answers.js";
import { summarizeMode, type RunRecord } from "../../../src/engine/eval/evaluation.js";
import { BUILTIN_QUESTIONS, loadQuestions, promptFor } from "../../../src/engine/eval/questions.js";
import { delayChart, markdownReport, timelineChart } from "../../../src/engine/eval/report.js";
import { SpeakingRateModel } from "../../../src/engine/eval/speechTiming.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { runCli } from "../../helpers/cli.js";
import { tinyModelPath } from "../../helpers/models.js";

describe("answer extraction and normalisation", () => {
  it("takes the last \\boxed{} with nested braces", () => {
    expect(boxedContents("first \\boxed{1} then \\boxed{\\frac{3}{8}}")).toEqual(["1", "\\frac{3}{8}"]);
    expect(extractAnswer("So \\boxed{12} no, \\boxed{24}.", "math")).toBe("24");
  });

  it("falls back to a spoken closing phrase or a choice letter", () => {
    expect(extractAnswer("Let me work it out! So the answer is 4.", "math")).toBe("4");
    expect(extractAnswer("I think the answer is (C), gold's symbol.", "choice")).toBe("C");
    expect(extractAnswer("Mercury (B) is closest.", "choice")).toBe("B");
    expect(extractAnswer("No idea.", "math")).toBeUndefined();
  });

  it("compares after normalisation, numerically where possible", () => {
    expect(normalizeAnswer("$1,275$")).toBe("1275");
    expect(answersMatch("\\frac{3}{8}", "3/8", "math")).toBe(true);
    expect(answersMatch("0.375", "3/8", "math")).toBe(true);
    expect(answersMatch("90^\\circ", "90", "math")).toBe(true);
    expect(answersMatch("\\text{Saturday}", "saturday", "math")).toBe(true);
    expect(answersMatch("four", "4", "math")).toBe(true);
    expect(answersMatch("x = 6", "6", "math")).toBe(true);
    expect(answersMatch("7", "6", "math")).toBe(false);
    expect(answersMatch("(c)", "C", "choice")).toBe(true);
    expect(answersMatch(undefined, "C", "choice")).toBe(false);
  });
});

describe("questions", () => {
  it("has about 30 built-in items with unique ids, math and multiple choice", () => {
    expect(BUILTIN_QUESTIONS.length).toBe(30);
    expect(new Set(BUILTIN_QUESTIONS.map((q) => q.id)).size).toBe(30);
    const choice = BUILTIN_QUESTIONS.find((q) => q.kind === "choice")!;
    expect(promptFor(choice)).toMatch(/\(A\) .*\n\(B\)/);
    expect(promptFor(BUILTIN_QUESTIONS[0]!)).toMatch(
      /^Please reason step by step, and put your final answer within \\boxed\{\}/,
    );
  });

  it("reads MATH-500 and MMLU-Pro layouts and reports a bad line by number", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-q-"));
    const good = join(dir, "q.jsonl");
    writeFileSync(
      good,
      '{"problem":"1+1?","answer":"2","unique_id":"a"}\n\n{"question":"Q?","options":["x","y"],"answer_index":1,"question_id":5}\n',
    );
    const qs = await loadQuestions(good);
    expect(qs.map((q) => [q.id, q.kind, q.answer])).toEqual([
      ["a", "math", "2"],
      ["5", "choice", "B"],
    ]);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"problem":"1+1?","answer":"2"}\n{"text": "what?"}\n');
    await expect(loadQuestions(bad)).rejects.toThrow(/bad\.jsonl line 2 is neither MATH-500/);
    writeFileSync(bad, "not json\n");
    await expect(loadQuestions(bad)).rejects.toThrow(/line 1 is not valid JSON/);
  });
});

describe("speech timing", () => {
  it("times speech with the documented speaking-rate model", async () => {
    const model = new SpeakingRateModel(120);
    expect(await model.measure("one two three four")).toMatchObject({ durationS: 2, ttsS: 0 });
    expect((await model.measure("1275 is it")).durationS).toBeCloseTo(2, 5); // 4 digits count as 2 words
    expect((await model.measure("!")).durationS).toBe(0);
  });
});

const record = (
  mode: RunRecord["mode"],
  correct: boolean,
  ttft: number | null,
  delay: number,
): RunRecord => ({
  id: "q1",
  mode,
  layout: "paper",
  question: "?",
  expected: "4",
  kind: "math",
  answer: "4",
  thoughts: "",
  extracted: "4",
  correct,
  ttftS: ttft,
  stft: ttft === null ? null : 5,
  stepsDelay: 3,
  totalDelay: delay,
  adjustedDelay: Math.max(0, delay - 1),
  delayToFirst: delay,
  steps: 10,
  thinkerTokens: 8,
  writerTokens: 4,
  endReason: "end-of-turn",
  totalS: 3,
  chunks: [
    { text: "four", spoken: "four", genS: 1, ttsS: 0.1, durS: 0.5, readyS: 1.1, startS: 1.1, delayS: 1.1 },
  ],
  trace: { thoughts: [[0.1, 1]], answer: [[1, 5, "four"]] },
  probes: [{ step: 4, pYes: 0.7, pNo: 0.2, decision: "yes" }],
});

describe("the report", () => {
  it("summarises modes and draws valid SVG plots and a Markdown table", () => {
    const runs = [
      record("async", true, 1, 1.5),
      record("thinking", true, 9, 9),
      record("nothinking", false, null, 0.5),
    ];
    const summaries = (["async", "thinking", "nothinking"] as const).map((m) =>
      summarizeMode(
        m,
        runs.filter((r) => r.mode === m),
      ),
    );
    expect(summaries[0]).toMatchObject({
      accuracy: 1,
      ttftS: 1,
      totalDelay: 1.5,
      adjustedDelay: 0.5,
      probeYesRate: 1,
    });
    expect(summaries[2]).toMatchObject({ accuracy: 0, ttftS: null });
    const chart = delayChart(summaries);
    expect(chart).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(chart).toContain("thinking TTFT: 9.00 s");
    const timeline = timelineChart(runs);
    expect((timeline.match(/<rect /g) ?? []).length).toBeGreaterThan(6);
    const md = markdownReport({
      model: "m.gguf",
      modelSha256: "ab".repeat(32),
      machine: "test",
      timing: "rate",
      layout: "paper",
      budget: 100,
      summaries,
      runs,
      timelineFiles: [{ id: "q1", file: "timeline-q1.svg" }],
    });
    expect(md).toContain("| async | 1 | 1.00 | 1.00 | 1.50 | 0.50 |");
    expect(md).toContain("![q1](timeline-q1.svg)");
  });
});

describe("npm run bench", () => {
  it("runs a smoke comparison on a generated model, writes the report, and resumes", async () => {
    const out = mkdtempSync(join(tmpdir(), "duet-bench-"));
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const args = [
      "--model",
      model,
      "--gpu",
      "cpu",
      "--limit",
      "3",
      "--budget",
      "64",
      "--tts",
      "rate:180",
      "--out",
      out,
      "--json",
    ];
    const first = await runCli("bench.ts", args, { timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout.trim().split("\n").at(-1)!) as {
      modes: Array<{ mode: string; questions: number; stft: number | null }>;
      modelSha256: string;
    };
    expect(summary.modes.map((m) => [m.mode, m.questions])).toEqual([
      ["async", 3],
      ["thinking", 3],
      ["nothinking", 3],
    ]);
    expect(summary.modes.find((m) => m.mode === "nothinking")!.stft).toBe(1);
    expect(summary.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    const files = readdirSync(out);
    for (const f of ["report.md", "summary.json", "delays.svg"]) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith("timeline-"))).toHaveLength(3);
    expect(readdirSync(join(out, "runs"))).toHaveLength(9);
    const run = JSON.parse(readFileSync(join(out, "runs", "muffins.async.json"), "utf8")) as {
      record: RunRecord;
    };
    expect(run.record.chunks.length).toBeGreaterThan(0);
    expect(run.record.trace.answer.length).toBe(run.record.writerTokens);
    // A second run reads the stored answers back instead of asking again.
    const second = await runCli("bench.ts", args, { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr.match(/\(stored\)/g)).toHaveLength(9);
  }, 150_000);
});
