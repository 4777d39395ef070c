#!/usr/bin/env node
/**
 * npm run bench:engine [-- --json] [--model PATH] [--context N] [--steps N] [--threads N] [--quick]
 *
 * Measures, on a model with real shapes (Qwen3-0.6B dimensions, random weights, generated once):
 * a plain one-stream step, a two-stream step without mirroring, the asynchronous step with
 * mirroring amortised (per mirror policy), the probe, and the K-shift pass against context size.
 * `asyncOverhead` = async step / two-stream step without mirroring.
 */
import { existsSync, mkdirSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { failAndExit, parseIntegerOption, progressLog } from "../cli/common.js";
import { openLlama } from "../llama/adapter.js";
import type { Token } from "../llama/types.js";
import { ReasoningEngine } from "../reasoning/engine.js";
import type { LayoutName } from "../reasoning/layout.js";
import { DEFAULT_MIRROR_POLICY, type MirrorPolicy } from "../reasoning/options.js";
import { maxOf } from "../../shared/arrays.js";
import { QWEN3_FAMILY } from "../reasoning/qwen3.js";
import { PROMPT_FAMILIES } from "../reasoning/promptFamily.js";
import { TINY_MODEL_PRESETS, writeTinyModel } from "../tiny-model/tinyModel.js";
import { ViewCache } from "../reasoning/viewCache.js";

interface StepStats {
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  maxMs: number;
  /** Steps over 3x the median: thread wake-up stalls on small machines. */
  stalls: number;
  steps: number;
}

function stats(samples: number[]): StepStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const median = at(0.5);
  return {
    medianMs: round(median),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
    p90Ms: round(at(0.9)),
    maxMs: round(sorted.at(-1) ?? 0),
    stalls: samples.filter((s) => s > 3 * median).length,
    steps: samples.length,
  };
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** Words of the prompts, so the generated vocabulary tokenizes them about as compactly as a real one. */
function promptWords(): string[] {
  const texts: string[] = [];
  for (const family of PROMPT_FAMILIES) {
    for (const part of [
      "writer_system",
      "thinker_system",
      "shared_system",
      "writer_split",
      "thinker_split",
    ] as const) {
      texts.push(family.part(part, { safety: true }));
    }
    texts.push(
      family.probeQuestion("thinker-aside", { safety: false }),
      family.probeQuestion("user-turn", { safety: false }),
    );
  }
  const words = new Set<string>();
  for (const text of texts) for (const w of text.match(/ ?[A-Za-z]+|[.,;:!?()[\]"]+/g) ?? []) words.add(w);
  return [...words];
}

async function benchModel(cacheDir: string): Promise<string> {
  const path = join(cacheDir, "qwen3-0.6b-shape-q8_0.gguf");
  if (!existsSync(path)) {
    mkdirSync(cacheDir, { recursive: true });
    process.stderr.write(
      `Generating a Qwen3-0.6B-shaped model with random weights at ${path} (about 0.8 GB, once)...\n`,
    );
    await writeTinyModel(path, { ...TINY_MODEL_PRESETS["qwen3-0.6b-shape"], words: promptWords(), seed: 7 });
  }
  return path;
}

interface EngineRun {
  /** Mean ms per step over the measured steps (the minimum over the repetitions). */
  meanMs: number;
  stepMs: StepStats;
  mirroredTokensPerStep: number;
  shiftPassesPerStep: number;
}

/**
 * Runs turns and times the steps of the generation loop from the event stream. In async mode only
 * the steady state where both streams decode counts (from a few steps after the writer started).
 * The mean of the fastest of `repeat` runs is reported: this machine's timing is noisy.
 */
async function timeTurn(
  engine: ReasoningEngine,
  mode: "async" | "nothinking",
  steps: number,
  repeat: number,
): Promise<EngineRun> {
  let best: EngineRun | undefined;
  for (let r = 0; r < repeat; r++) {
    engine.resetConversation();
    const turn = engine.ask("Explain why the sky is blue, step by step.", { mode, maxSteps: steps });
    const stepTimes = new Map<number, number>();
    let writerFrom = Infinity;
    turn.on((event) => {
      if (event.type === "answer") writerFrom = Math.min(writerFrom, event.step);
      if ((event.type === "thought" || event.type === "answer") && !stepTimes.has(event.step))
        stepTimes.set(event.step, event.timeMs);
    });
    const result = await turn.done;
    if (result.error) throw new Error(result.error.message);
    const from = (writerFrom === Infinity ? 1 : writerFrom) + 3;
    const times = [...stepTimes.entries()].filter(([step]) => step >= from).sort((a, b) => a[0] - b[0]);
    const samples: number[] = [];
    for (let i = 1; i < times.length; i++)
      samples.push((times[i]![1] - times[i - 1]![1]) / (times[i]![0] - times[i - 1]![0]));
    if (samples.length === 0) throw new Error(`Too few steps measured (${steps}); raise --steps.`);
    const span = times.at(-1)![0] - times[0]![0];
    const run: EngineRun = {
      meanMs: round((times.at(-1)![1] - times[0]![1]) / span),
      stepMs: stats(samples),
      mirroredTokensPerStep: round(result.metrics.mirroredTokens / Math.max(1, result.metrics.steps)),
      shiftPassesPerStep: round(result.metrics.shiftPasses / Math.max(1, result.metrics.steps), 3),
    };
    if (!best || run.meanMs < best.meanMs) best = run;
  }
  return best!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean" },
      model: { type: "string" },
      context: { type: "string" },
      steps: { type: "string" },
      threads: { type: "string" },
      quick: { type: "boolean" },
      "cache-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "Usage: npm run bench:engine -- [--json] [--model PATH] [--context N] [--steps N] [--threads N] [--quick]\n",
    );
    return;
  }
  const json = values.json ?? false;
  const log = progressLog(json);
  const contextSize = parseIntegerOption("context", values.context, 256) ?? 2048;
  const steps = parseIntegerOption("steps", values.steps, 40) ?? (values.quick ? 60 : 120);
  const repeat = values.quick ? 1 : 3;
  const threads = parseIntegerOption("threads", values.threads);
  const modelPath = values.model ?? (await benchModel(values["cache-dir"] ?? join(tmpdir(), "duet-bench")));
  log(`Model: ${modelPath}`);
  log(
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; context 2 x ${contextSize}; ${steps} steps per run`,
  );

  const open = (
    options: { mirror?: Partial<MirrorPolicy>; probeSeesLatestAnswer?: boolean; layout?: LayoutName } = {},
  ) =>
    ReasoningEngine.open({
      modelPath,
      gpu: "cpu",
      contextSize,
      ...(threads ? { threads } : {}),
      // Forced yes: both streams decode from the first probe (step 20) on, without probe decodes.
      probe: "yes",
      ...options,
    });

  // Plain one-stream decode and the two-stream step without mirroring.
  const engine = await open({
    mirror: { chunkTokens: 1e9, phraseMinTokens: 0 },
    probeSeesLatestAnswer: false,
  });
  const threadsUsed = engine.threads;
  const plain = await timeTurn(engine, "nothinking", steps, repeat);
  log(
    `plain one-stream step:           ${plain.meanMs} ms mean (median ${plain.stepMs.medianMs}, max ${plain.stepMs.maxMs})`,
  );
  const twoStream = await timeTurn(engine, "async", steps, repeat);
  log(
    `two-stream step, no mirroring:   ${twoStream.meanMs} ms mean (median ${twoStream.stepMs.medianMs}, max ${twoStream.stepMs.maxMs})`,
  );
  await engine.dispose();

  // The asynchronous step with mirroring amortised, per policy.
  const policies: Array<[string, Partial<MirrorPolicy>, LayoutName?]> = values.quick
    ? [["default", {}]]
    : [
        ["chunk 8", { chunkTokens: 8, phraseMinTokens: 0 }],
        ["chunk 16", { chunkTokens: 16, phraseMinTokens: 0 }],
        ["phrase 6", { chunkTokens: 16, phraseMinTokens: 6 }],
        ["not lazy", { lazy: false }],
        ["compact", {}, "compact"],
        ["default", {}],
      ];
  const asyncRuns: Record<string, EngineRun & { overhead: number }> = {};
  for (const [name, mirror, layout] of policies) {
    const e = await open({ mirror, ...(layout ? { layout } : {}) });
    const run = await timeTurn(e, "async", steps, repeat);
    await e.dispose();
    const overhead = round(run.meanMs / twoStream.meanMs, 3);
    asyncRuns[name] = { ...run, overhead };
    log(
      `async step, ${name.padEnd(8)}:         ${run.meanMs} ms mean (median ${run.stepMs.medianMs}), ` +
        `${run.shiftPassesPerStep} shift passes/step, ${run.mirroredTokensPerStep} mirrored tokens/step -> overhead ${overhead}`,
    );
  }

  // Probe cost and K-shift pass cost against context size, on the raw cache.
  const shiftPassMs: Record<string, number> = {};
  let probeMs = 0;
  for (const size of values.quick ? [contextSize] : [1024, 2048, 4096]) {
    const session = await openLlama({
      modelPath,
      gpu: "cpu",
      contextSize: size,
      sequences: 2,
      ...(threads ? { threads } : {}),
    });
    const cache = new ViewCache(session.runtime);
    cache.setViews([
      { id: "a", blocks: ["p", "t"] },
      { id: "b", blocks: ["q"] },
    ]);
    const fill = (n: number, seed: number): Token[] =>
      Array.from({ length: n }, (_, i) => (seed + i * 31) % 5000);
    cache.extend("p", fill(Math.min(600, size / 2), 1));
    cache.extend("q", fill(Math.min(600, size / 2), 2));
    await cache.place(cache.viewIds().flatMap((v) => cache.backlog(v).map((b) => ({ view: v, ...b }))));
    const appendOnly: number[] = [];
    const withShift: number[] = [];
    for (let i = 0; i < 8; i++) {
      cache.extend("t", [100 + i]);
      let t0 = performance.now();
      await cache.place([{ view: "a", block: "t", tokens: [100 + i], logits: true }]);
      appendOnly.push(performance.now() - t0);
      cache.extend("p", [200 + i]);
      cache.extend("t", [300 + i]);
      // Own token first, then one token rotated into the middle: the next decode pays the shift pass.
      await cache.place([
        { view: "a", block: "t", tokens: [300 + i], logits: true },
        { view: "a", block: "p", tokens: [200 + i] },
      ]);
      cache.extend("t", [400 + i]);
      t0 = performance.now();
      await cache.place([{ view: "a", block: "t", tokens: [400 + i], logits: true }]);
      withShift.push(performance.now() - t0);
    }
    const pass = stats(withShift).medianMs - stats(appendOnly).medianMs;
    shiftPassMs[String(size * 2)] = round(pass);
    log(
      `K-shift pass, ${String(size * 2).padStart(5)} cells:       ${round(pass)} ms (append alone ${stats(appendOnly).medianMs} ms)`,
    );
    if (size === contextSize) {
      const question = session.tokenizer.tokenize(
        QWEN3_FAMILY.probeQuestion("thinker-aside", { safety: false }),
        { special: true },
      );
      const probes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        await cache.probe("a", question, 40);
        probes.push(performance.now() - t0);
      }
      probeMs = stats(probes).medianMs;
      log(`probe (${question.length} tokens, top-40):      ${probeMs} ms`);
    }
    await session.dispose();
  }

  const chosen = asyncRuns.default ?? Object.values(asyncRuns)[0]!;
  const summary = {
    model: modelPath,
    threads: threadsUsed,
    contextSize,
    steps,
    plainStepMs: plain.meanMs,
    twoStreamStepMs: twoStream.meanMs,
    asyncStepMs: chosen.meanMs,
    asyncOverhead: chosen.overhead,
    mirrorPolicy: DEFAULT_MIRROR_POLICY,
    asyncByPolicy: Object.fromEntries(
      Object.entries(asyncRuns).map(([k, v]) => [
        k,
        { stepMs: v.meanMs, overhead: v.overhead, shiftPassesPerStep: v.shiftPassesPerStep },
      ]),
    ),
    probeMs,
    shiftPassMs,
    stalls:
      plain.stepMs.stalls +
      twoStream.stepMs.stalls +
      Object.values(asyncRuns).reduce((n, r) => n + r.stepMs.stalls, 0),
    maxStepMs: maxOf([
      plain.stepMs.maxMs,
      twoStream.stepMs.maxMs,
      ...Object.values(asyncRuns).map((r) => r.stepMs.maxMs),
    ]),
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  log(`asyncOverhead (default policy) = ${summary.asyncOverhead}  (target <= 1.15)`);
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => failAndExit(error));
