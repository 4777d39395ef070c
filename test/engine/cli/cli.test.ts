import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readGgufFile } from "../../../src/engine/gguf/reader.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { runCli } from "../../helpers/cli.js";
import { tinyModelPath } from "../../helpers/models.js";

const cli = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(script, args, { env });

describe("npm run ask", () => {
  it("streams JSON events and ends with the summary object", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stdout } = await cli("ask.ts", [
      "--model",
      model,
      "--gpu",
      "cpu",
      "--json",
      "What is two plus two?",
    ]);
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({
      stft: expect.any(Number),
      stepsDelay: expect.any(Number),
      steps: expect.any(Number),
      thinkerTokens: 16,
      writerTokens: 12,
      endReason: "end-of-turn",
      answer: "Let me work it out!\n\nSo the answer is 4.",
    });
    expect(summary.ttftMs).toBeGreaterThan(0);
    const types = new Set(lines.slice(0, -1).map((l) => l.type));
    for (const t of ["start", "prefill", "state", "thought", "answer", "probe", "end"])
      expect(types).toContain(t);
  });

  it("npm run demo shows the turn at a speaking pace by default, and at once with --fast", async () => {
    const env = { ...process.env, DUET_DATA_DIR: mkdtempSync(join(tmpdir(), "duet-demo-")) };
    /** Runs the demo on a pipe, noting when each line of the tracks arrived. */
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string; arrivals: number[] }>((resolve) => {
        const child = spawn(join("node_modules", ".bin", "tsx"), ["src/engine/cli/demo.ts", ...args], {
          env,
        });
        let stdout = "";
        let stderr = "";
        const arrivals: number[] = [];
        child.stdout.on("data", (d: Buffer) => {
          const text = d.toString();
          for (const line of text.split("\n"))
            if (/^(think|say) +\|/.test(line)) arrivals.push(performance.now());
          stdout += text;
        });
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code, stdout, stderr, arrivals }));
      });
    const paced = await run(["--gpu", "cpu"]);
    expect(paced.code).toBe(0);
    expect(paced.stdout).toMatch(/^Question: What is two plus two\?\n/);
    expect(paced.stdout).toMatch(/say {3}\| So the answer is 4\./);
    expect(paced.stderr).toMatch(/Shown at about 8 steps a second/);
    // The first line ends near step 7 and the last near step 21, shown 120 ms a step apart (the
    // turn itself is over in a fraction of a second).
    expect(paced.arrivals.length).toBeGreaterThanOrEqual(4);
    expect(paced.arrivals.at(-1)! - paced.arrivals[0]!).toBeGreaterThan(10 * 120);
    const fast = await run(["--fast", "--gpu", "cpu"]);
    expect(fast.code).toBe(0);
    expect(fast.stdout).toMatch(/say {3}\| So the answer is 4\./);
    expect(fast.stderr).not.toMatch(/Shown at about/);
  }, 60_000);

  it("shows both tracks as text on a pipe and prints the metrics", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stdout } = await cli("ask.ts", [
      "--model",
      model,
      "--gpu",
      "cpu",
      "--layout",
      "compact",
      "What is two plus two?",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/think \| Okay, adding small numbers\./);
    expect(stdout).toMatch(/say {3}\| Let me work it out!/);
    expect(stdout).toMatch(/TTFT [\d.]+ s {3}STFT \d+ steps {3}steps delay \d+ {3}steps\/s [\d.]+/);
  });

  it("explains a missing model, an empty model folder and bad options", async () => {
    const missing = await cli("ask.ts", ["--model", "/nowhere/model.gguf", "hi"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Model file not found: \/nowhere\/model\.gguf/);

    const empty = mkdtempSync(join(tmpdir(), "duet-empty-"));
    const none = await cli("ask.ts", ["hi"], { DUET_MODELS_DIR: empty });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`No reasoning model in ${empty}`);
    expect(none.stderr).toMatch(/--model PATH/);

    const bad = await cli("ask.ts", ["--mode", "fast", "hi"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--mode must be one of async, thinking, nothinking/);
    const noQuestion = await cli("ask.ts", ["--model", "x.gguf"]);
    expect(noQuestion.code).toBe(2);
    expect(noQuestion.stderr).toMatch(/Give a question/);
  });
});

describe("command-line mistakes", () => {
  const oneLine = (stderr: string) => stderr.split("\n").find((l) => l.startsWith("duet: ")) ?? "";

  it.each([
    ["ask.ts", ["--max-step", "5", "hi"], /Unknown option --max-step\. Did you mean --max-steps\?/],
    ["ask.ts", ["--model"], /Option --model <value> needs a value/],
    ["ask.ts", ["--context", "100", "hi"], /--context must be a whole number from 512 to 262144, got "100"/],
    ["talk.ts", ["--wav"], /needs a value/],
    ["talk.ts", ["--txt", "hi"], /Unknown option --txt\. Did you mean --text\?/],
    ["models.ts", ["--jsn", "list"], /Unknown option --jsn\. Did you mean --json\?/],
    ["models.ts", ["fetch"], /Unknown command "fetch"/],
  ])("%s %j: one line, the usage, exit code 2, no stack trace", async (script, args, message) => {
    const { code, stderr } = await cli(script, args);
    expect(code).toBe(2);
    expect(oneLine(stderr)).toMatch(message);
    expect(stderr).toMatch(/Usage: npm run/);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it("explains how to ask a question that starts with a dash, and that way works", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const dash = await cli("ask.ts", ["--model", model, "-5 plus 3?"]);
    expect(dash.code).toBe(2);
    expect(dash.stderr).toContain('put -- before it, as in npm run ask -- [options] -- "-5 plus 3?"');
    const fixed = await cli("ask.ts", ["--model", model, "--gpu", "cpu", "--json", "--", "-5 plus 3?"]);
    expect(fixed.code).toBe(0);
    const start = JSON.parse(fixed.stdout.split("\n")[0]!) as { type: string };
    expect(start.type).toBe("start");
  });

  it("says which file is missing when --stt-model names none", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stderr } = await cli("talk.ts", [
      "--model",
      model,
      "--text",
      "hi",
      "--stt-model",
      "/nowhere/ggml.bin",
    ]);
    expect(code).toBe(2);
    expect(oneLine(stderr)).toBe("duet: --stt-model: no such file or folder: /nowhere/ggml.bin");
  });
});

describe("npm run make-tiny-model", () => {
  it("writes a loadable model with the requested shape", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "duet-make-")), "m.gguf");
    const { code, stdout } = await cli("makeTinyModel.ts", [
      "--out",
      out,
      "--arch",
      "llama",
      "--layers",
      "3",
      "--heads",
      "4",
      "--kv-heads",
      "2",
      "--type",
      "f16",
      "--seed",
      "9",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/llama, 3 layer\(s\), 4 heads \(2 kv\)/);
    const file = await readGgufFile(out);
    expect(file.metadata.get("general.architecture")).toBe("llama");
    expect(file.metadata.get("llama.block_count")).toBe(3);
    expect(file.metadata.get("llama.attention.head_count_kv")).toBe(2);
    const bad = await cli("makeTinyModel.ts", ["--out", out, "--arch", "gpt5"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--arch must be one of qwen3, llama/);
  });
});
