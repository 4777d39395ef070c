#!/usr/bin/env node
/**
 * npm run bench:engine [-- --json] [--model PATH] [--context N] [--steps N] [--threads N] [--quick]
 *
 * Measures, on a model with real shapes (Qwen3-0.6B dimensions, random weights, generated once):
 * - baselines, as raw decodes through the adapter in the same run, measured again right before
 *   each policy: `plainStepMs` (one token) and `twoStreamStepMs` (two tokens, one per sequence, in
 *   one batch); at top level their medians;
 * - the engine's asynchronous step (both streams decoding, probe forced yes so they always do),
 *   per placement and thought-sharing policy, on node-llama-cpp's stock binary and, when
 *   `npm run build:native` made one, on Duet's own build;
 * - per policy: `stepMs`, `overhead` (step / its own twoStreamStepMs), `lagMean` and `lagMax`
 *   (thought lag), and `aggregateRatio` (thinker + writer tokens per second over one plain
 *   stream's, that is 2 x its own plainStepMs / stepMs);
 * - the probe and the K-shift pass against context size.
 * At top level: the default policy's `asyncOverhead`, `thoughtLagMax` and `aggregateRatio`.
 */
import { existsSync, mkdirSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { failAndExit, parseIntegerOption, progressLog } from "../cli/common.js";
import { openLlama, type LlamaBinaryChoice } from "../llama/adapter.js";
import type { KvRuntime, NativeBinaryKind, Token } from "../llama/types.js";
import { ReasoningEngine } from "../reasoning/engine.js";
import type { LayoutName } from "../reasoning/layout.js";
import type { ThoughtSharing } from "../reasoning/options.js";
import type { PlacementStrategy } from "../reasoning/viewCache.js";
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
  /** Mean ms per step over the measured steps, probes and shift passes included (the fastest of the repetitions). */
  meanMs: number;
  stepMs: StepStats;
  mirroredTokensPerStep: number;
  shiftPassesPerStep: number;
  lagMean: number;
  lagMax: number;
}

/**
 * Runs turns and times the steps of the generation loop from the event stream. Only the steady
 * state where both streams decode counts (from a few steps after the writer started). The mean of
 * the fastest of `repeat` runs is reported: this machine's timing is noisy.
 */
async function timeTurn(engine: ReasoningEngine, steps: number, repeat: number): Promise<EngineRun> {
  let best: EngineRun | undefined;
  for (let r = 0; r < repeat; r++) {
    engine.resetConversation();
    const turn = engine.ask("Explain why the sky is blue, step by step.", { maxSteps: steps });
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
      lagMean: round(result.metrics.thoughtLagMean),
      lagMax: result.metrics.thoughtLagMax,
    };
    if (!best || run.meanMs < best.meanMs) best = run;
  }
  return best!;
}

/** Raw decodes through the adapter: one token, or one token in each of two sequences, per step. */
async function rawStepMs(runtime: KvRuntime, streams: 1 | 2, steps: number, repeat: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    for (let s = 0; s < runtime.sequences; s++) runtime.clear(s);
    // A prompt first, so attention covers a realistic span.
    const prompt = Array.from({ length: 300 }, (_, i) => (i * 31 + 7) % 5000);
    await runtime.decode(
      Array.from({ length: streams }, (_, s) => ({ sequence: s, firstPosition: 0, tokens: prompt })),
    );
    const samples: number[] = [];
    for (let i = 0; i < steps; i++) {
      const started = performance.now();
      await runtime.decode(
        Array.from({ length: streams }, (_, s) => ({
          sequence: s,
          firstPosition: prompt.length + i,
          tokens: [(100 + i * 13 + s) % 5000],
          logitIndex: 0,
        })),
      );
      samples.push(performance.now() - started);
    }
    // Medians: on a shared machine a few steps stall on thread wake-ups.
    best = Math.min(best, stats(samples.slice(2)).medianMs);
  }
  for (let s = 0; s < runtime.sequences; s++) runtime.clear(s);
  return round(best);
}

interface PolicyResult {
  binary: NativeBinaryKind;
  placement: PlacementStrategy;
  thoughtSharing: string;
  layout: LayoutName;
  stepMs: number;
  /** The baselines measured right before this policy's run, which its ratios divide by. */
  plainStepMs: number;
  twoStreamStepMs: number;
  overhead: number;
  lagMean: number;
  lagMax: number;
  aggregateRatio: number;
  shiftPassesPerStep: number;
  mirroredTokensPerStep: number;
  stalls: number;
  maxStepMs: number;
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

  // Which binaries are here: the stock one always; Duet's own build when it was made.
  const probe = await openLlama({
    modelPath,
    gpu: "cpu",
    contextSize,
    sequences: 2,
    ...(threads ? { threads } : {}),
  });
  const defaultBinary = probe.description.binary;
  const threadsUsed = probe.description.threads;
  await probe.dispose();
  const binaries: NativeBinaryKind[] = defaultBinary === "patched" ? ["stock", "patched"] : ["stock"];
  if (defaultBinary !== "patched")
    log("Duet's own llama.cpp build is not here (npm run build:native): stock policies only.");

  // Baselines on the binary the default policy runs on.
  const raw = await openLlama({
    modelPath,
    gpu: "cpu",
    contextSize,
    sequences: 2,
    binary: defaultBinary,
    ...(threads ? { threads } : {}),
  });
  // Measured again right before each policy, and each policy is compared with its own pair: on a
  // shared machine the speed drifts over the minutes a run takes, and a ratio against a baseline
  // taken minutes earlier measures the drift as much as the policy.
  const baselines = async (): Promise<{ plain: number; two: number }> => ({
    plain: await rawStepMs(raw.runtime, 1, 24, repeat),
    two: await rawStepMs(raw.runtime, 2, 24, repeat),
  });
  const pairs: Array<{ plain: number; two: number }> = [await baselines()];
  log(`plain step (1 token, raw decode):          ${pairs[0]!.plain} ms`);
  log(`two-stream step (2 tokens, one batch):     ${pairs[0]!.two} ms`);

  const policies: Array<{
    binary: NativeBinaryKind;
    placement: PlacementStrategy;
    sharing: ThoughtSharing;
    layout: LayoutName;
  }> = [];
  for (const binary of binaries) {
    const placements: PlacementStrategy[] = binary === "stock" ? ["rotate"] : ["gap", "copy"];
    for (const placement of placements)
      for (const sharing of (values.quick && binary === "stock"
        ? ["chunks"]
        : ["chunks", "every-step"]) as ThoughtSharing[])
        policies.push({ binary, placement, sharing, layout: "paper" });
  }
  if (!values.quick)
    policies.push({
      binary: defaultBinary,
      placement: defaultBinary === "patched" ? "gap" : "rotate",
      sharing: "auto",
      layout: "compact",
    });

  const results: Record<string, PolicyResult> = {};
  let defaultName = "";
  for (const [index, policy] of policies.entries()) {
    const pair = index === 0 ? pairs[0]! : await baselines();
    if (index > 0) pairs.push(pair);
    const engine = await ReasoningEngine.open({
      modelPath,
      gpu: "cpu",
      contextSize,
      binary: policy.binary as LlamaBinaryChoice,
      placement: policy.placement,
      thoughtSharing: policy.sharing,
      layout: policy.layout,
      ...(threads ? { threads } : {}),
      // Forced yes: both streams decode from the first probe (step 20) on.
      probe: "yes",
    });
    const run = await timeTurn(engine, steps, repeat);
    const name = `${policy.binary}/${policy.placement}/${engine.options.thoughtSharing.startsWith("every") ? "every-step" : "chunks"}${policy.layout === "compact" ? "/compact" : ""}`;
    const isDefault =
      policy.binary === defaultBinary &&
      policy.layout === "paper" &&
      // What "auto" picks on this binary, not merely what this policy asked for.
      policy.placement === ViewCache.bestStrategy(engine.runtime) &&
      (engine.placement !== "rotate" ? policy.sharing === "every-step" : policy.sharing === "chunks");
    if (isDefault && !defaultName) defaultName = name;
    results[name] = {
      binary: policy.binary,
      placement: engine.placement,
      thoughtSharing: engine.options.thoughtSharing,
      layout: policy.layout,
      stepMs: run.meanMs,
      plainStepMs: pair.plain,
      twoStreamStepMs: pair.two,
      overhead: round(run.meanMs / pair.two, 3),
      lagMean: run.lagMean,
      lagMax: run.lagMax,
      aggregateRatio: round((2 * pair.plain) / run.meanMs, 3),
      shiftPassesPerStep: run.shiftPassesPerStep,
      mirroredTokensPerStep: run.mirroredTokensPerStep,
      stalls: run.stepMs.stalls,
      maxStepMs: run.stepMs.maxMs,
    };
    await engine.dispose();
    const r = results[name]!;
    log(
      `${name.padEnd(32)} ${String(r.stepMs).padStart(7)} ms  (two-stream ${pair.two} ms)  overhead ${r.overhead}  lag ${r.lagMean} mean / ${r.lagMax} max  ` +
        `aggregate ${r.aggregateRatio}  (${r.shiftPassesPerStep} shift passes/step)`,
    );
  }

  // Probe cost and K-shift pass cost against context size, on the raw cache (stock placement).
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

  await raw.dispose();
  const chosen = results[defaultName] ?? Object.values(results)[0]!;
  const median = (values: number[]): number => stats(values).medianMs;
  const summary = {
    model: modelPath,
    threads: threadsUsed,
    contextSize,
    steps,
    binary: defaultBinary,
    defaultPolicy: defaultName,
    plainStepMs: median(pairs.map((p) => p.plain)),
    twoStreamStepMs: median(pairs.map((p) => p.two)),
    asyncStepMs: chosen.stepMs,
    asyncOverhead: chosen.overhead,
    thoughtLagMax: chosen.lagMax,
    aggregateRatio: chosen.aggregateRatio,
    policies: results,
    probeMs,
    shiftPassMs,
    stalls: Object.values(results).reduce((n, r) => n + r.stalls, 0),
    maxStepMs: maxOf(Object.values(results).map((r) => r.maxStepMs)),
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  log(
    `default policy ${defaultName}: asyncOverhead ${summary.asyncOverhead}, thoughtLagMax ${summary.thoughtLagMax}, ` +
      `aggregateRatio ${summary.aggregateRatio}`,
  );
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => failAndExit(error));
