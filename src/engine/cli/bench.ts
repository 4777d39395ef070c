#!/usr/bin/env node
/**
 * npm run bench -- --model PATH [--questions FILE.jsonl] [--modes async,thinking,nothinking]
 *   [--layout paper|compact] [--limit N] [--budget STEPS] [--tts system|neural|rate:WPM] [--out DIR] [--json]
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { DuetError } from "../errors.js";
import { runQuestion, summarizeMode, type RunRecord } from "../eval/evaluation.js";
import { BUILTIN_QUESTIONS, loadQuestions, type Question } from "../eval/questions.js";
import { delayChart, markdownReport, timelineChart } from "../eval/report.js";
import { SpeakingRateModel, SynthesizerTiming, type SpeechTiming } from "../eval/speechTiming.js";
import { sha256File } from "../models/hashFile.js";
import { openAssistant } from "../session/assistant.js";
import { REASONING_MODES } from "../reasoning/events.js";
import { LAYOUT_NAMES } from "../reasoning/layout.js";
import { loadMathSpeech } from "../speech/speakable.js";
import { NeuralVoice } from "../speech/tts/neuralVoice.js";
import { SystemVoice } from "../speech/tts/systemVoice.js";
import { configForCommand } from "./assistantForCommand.js";
import { parseCommandLine, UsageError } from "./commandLine.js";
import { ansi, failAndExit, parseChoice, parseIntegerOption, progressLog } from "./common.js";
import { showNativeLogs } from "./nativeLogs.js";

const usage = `Usage: npm run bench -- [options]

Compares asynchronous reasoning with thinking first and with not thinking, on your model and
machine: accuracy, time to the first answer token, and the silence a listener would hear.

  --model PATH          GGUF model (default: the newest in Duet's model folder)
  --questions FILE      JSON Lines in the MATH-500 or MMLU-Pro layout (default: Duet's 30 questions)
  --modes LIST          any of async,thinking,nothinking (default: all three)
  --layout LAYOUT       paper (default) or compact
  --limit N             only the first N questions
  --budget STEPS        step budget per answer (default 1024)
  --tts BACKEND         system (the OS voice, the default), neural:PATH (a voice folder) or rate:WPM
                        (a speaking-rate model; synthesis time not included)
  --out DIR             where results go (default bench-results/<model name>)
  --gpu BACKEND         auto (default), cuda, vulkan, metal or cpu
  --json                the last line of output is the summary object

A stopped run continues where it left off: finished questions are read back from --out.
`;

/**
 * How chunks are timed. By default the system voice synthesises each chunk for real, as the
 * paper's delays include synthesis; if it cannot run, a speaking-rate model stands in and the
 * report says synthesis time is not included.
 */
async function speechTiming(
  option: string,
  math: ((latex: string) => string) | undefined,
  log: (line: string) => void,
): Promise<SpeechTiming> {
  if (option.startsWith("rate:")) return new SpeakingRateModel(Number(option.slice(5)), math);
  if (option.startsWith("neural:"))
    return new SynthesizerTiming(await NeuralVoice.load(option.slice(7)), math);
  const voice = new SystemVoice();
  try {
    await voice.synthesize("ready");
    return new SynthesizerTiming(voice, math);
  } catch (error) {
    if (process.argv.includes("--tts")) throw error;
    log(
      `duet: the system voice cannot run (${(error as Error).message}); timing speech with a speaking-rate model instead.`,
    );
    return new SpeakingRateModel(160, math);
  }
}

/** A question id made safe for a file name. */
const fileId = (id: string): string => id.replace(/[^\w.-]/g, "_");

async function modelHash(path: string, outDir: string): Promise<string> {
  const info = await stat(path);
  const cache = join(outDir, "model-hash.json");
  try {
    const cached = JSON.parse(await readFile(cache, "utf8")) as {
      path: string;
      size: number;
      mtimeMs: number;
      sha256: string;
    };
    if (cached.path === path && cached.size === info.size && cached.mtimeMs === info.mtimeMs)
      return cached.sha256;
  } catch {
    // not cached yet
  }
  const sha256 = await sha256File(path);
  await writeFile(cache, JSON.stringify({ path, size: info.size, mtimeMs: info.mtimeMs, sha256 }));
  return sha256;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let json = args.includes("--json");
  const log = progressLog(json);
  try {
    const { values } = parseCommandLine(
      args,
      {
        model: { type: "string" },
        questions: { type: "string" },
        modes: { type: "string" },
        layout: { type: "string" },
        limit: { type: "string" },
        budget: { type: "string" },
        tts: { type: "string" },
        out: { type: "string" },
        gpu: { type: "string" },
        verbose: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      "bench",
    );
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    json = values.json ?? false;
    showNativeLogs(values.verbose);
    const modes = (values.modes ?? REASONING_MODES.join(","))
      .split(",")
      .map((m) => parseChoice("modes", m.trim(), REASONING_MODES)!);
    const layout = parseChoice("layout", values.layout, LAYOUT_NAMES) ?? "paper";
    const limit = parseIntegerOption("limit", values.limit);
    const budget = parseIntegerOption("budget", values.budget, 16, 65536) ?? 1024;
    const ttsOption = values.tts ?? "system";
    if (!/^(system|rate:\d+|neural:.+)$/.test(ttsOption)) {
      throw new UsageError(`--tts must be system, neural:PATH or rate:WPM, got "${ttsOption}".`);
    }
    let questions: Question[] = values.questions
      ? await loadQuestions(values.questions)
      : [...BUILTIN_QUESTIONS];
    if (limit) questions = questions.slice(0, limit);
    const { config, notices } = await configForCommand({
      ...(values.model ? { model: values.model } : {}),
      ...(values.gpu ? { gpu: values.gpu } : {}),
      layout,
      "max-steps": String(budget),
    });
    for (const notice of notices) log(`duet: ${notice}`);
    const modelPath = config.files.llm;
    const modelName = modelPath
      .split(/[\\/]/)
      .pop()!
      .replace(/\.gguf$/i, "");
    const outDir = resolve(values.out ?? join("bench-results", modelName));
    await mkdir(join(outDir, "runs"), { recursive: true });

    const math = await loadMathSpeech().catch(() => undefined);
    const timing = await speechTiming(ttsOption, math, log);
    const sha256 = await modelHash(modelPath, outDir);
    const assistant = await openAssistant(config);
    const engine = assistant.engine;
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform}-${process.arch}`;
    // Results depend on these; a run with other settings does not reuse stored answers.
    const configKey = createHash("sha256")
      .update(JSON.stringify({ sha256, layout, budget, timing: timing.description }))
      .digest("hex")
      .slice(0, 12);
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    const runs: RunRecord[] = [];
    try {
      log(
        `${questions.length} questions x ${modes.join(", ")} on ${modelName} (${layout} layout); speech: ${timing.description}`,
      );
      for (const question of questions) {
        for (const mode of modes) {
          const file = join(outDir, "runs", `${fileId(question.id)}.${mode}.json`);
          let record: RunRecord | undefined;
          try {
            const stored = JSON.parse(await readFile(file, "utf8")) as {
              configKey: string;
              record: RunRecord;
            };
            if (stored.configKey === configKey) record = stored.record;
          } catch {
            record = undefined;
          }
          const resumed = record !== undefined;
          if (!record) {
            if (controller.signal.aborted)
              throw new DuetError("aborted", "Stopped; run the same command again to continue.");
            record = await runQuestion(engine, question, mode, {
              maxSteps: budget,
              timing,
              signal: controller.signal,
            });
            if (record.endReason === "cancelled")
              throw new DuetError("aborted", "Stopped; run the same command again to continue.");
            await writeFile(file, JSON.stringify({ configKey, record }, null, 1));
          }
          runs.push(record);
          log(
            `${question.id.padEnd(16)} ${mode.padEnd(10)} ${record.correct ? "right" : "wrong"}  TTFT ${record.ttftS?.toFixed(2) ?? "-"} s  delay ${record.totalDelay.toFixed(2)} s` +
              (resumed ? ansi.dim("  (stored)") : ""),
          );
        }
      }
    } finally {
      await assistant.dispose();
    }
    const summaries = modes.map((m) =>
      summarizeMode(
        m,
        runs.filter((r) => r.mode === m),
      ),
    );
    await writeFile(join(outDir, "delays.svg"), delayChart(summaries));
    const timelineFiles: Array<{ id: string; file: string }> = [];
    for (const question of questions.slice(0, 5)) {
      const file = `timeline-${fileId(question.id)}.svg`;
      await writeFile(join(outDir, file), timelineChart(runs.filter((r) => r.id === question.id)));
      timelineFiles.push({ id: question.id, file });
    }
    const summary = {
      model: modelPath,
      modelSha256: sha256,
      machine,
      layout,
      budget,
      speechTiming: timing.description,
      questions: questions.length,
      modes: summaries,
      report: join(outDir, "report.md"),
    };
    await writeFile(join(outDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    await writeFile(
      join(outDir, "report.md"),
      markdownReport({
        model: modelPath,
        modelSha256: sha256,
        machine,
        timing: timing.description,
        layout,
        budget,
        summaries,
        runs,
        timelineFiles,
      }),
    );
    for (const s of summaries) {
      log(
        `${s.mode.padEnd(10)} accuracy ${s.accuracy.toFixed(2)}  TTFT ${s.ttftS?.toFixed(2) ?? "-"} s  total delay ${s.totalDelay.toFixed(2)} s  adjusted ${s.adjustedDelay.toFixed(2)} s  STFT ${s.stft?.toFixed(1) ?? "-"}`,
      );
    }
    log(`Report: ${join(outDir, "report.md")}`);
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  } catch (error) {
    failAndExit(error, { json, usage });
  }
}

void main();
