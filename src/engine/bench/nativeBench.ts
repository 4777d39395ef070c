#!/usr/bin/env node
/**
 * npm run bench:native [-- --json] [--model PATH] [--shape 0.6b|8b] [--binary both|stock|patched]
 *                      [--gpu cpu|cuda|vulkan|metal|auto] [--context N] [--fill N] [--steps N] [--rounds N] [--threads N]
 *
 * Raw decode costs through the adapter, no engine, no sampling (docs/native-build.md): what one
 * step of two streams costs with each way of showing each stream's new token in the other view.
 * Per binary, ms per step:
 *   oneToken        one token in one sequence
 *   twoTokens       one token per sequence, one batch (the two-stream step without mirroring)
 *   fourTokensAtEnd two tokens per sequence at the end, one batch (the decode of stock mirroring)
 *   stockMirror     own + mirrored token per sequence at the end, mirrored one rotated into the
 *                   middle (three shifts), so every step pays a K-shift pass (today's every-step mirroring)
 * and on the patched build:
 *   gapMirror       own token at the end + the other stream's token into a reserved gap, one batch
 *   copyMirror      own tokens decoded, then both copied into the other view's gap (one copy call)
 *   copyOne         own tokens decoded, then one of them copied (one direction)
 *   shiftPassMs     one K-shift pass, paid once per gap when a gap fills
 *   paired*         own tokens only / plus gap mirroring / plus copy mirroring, in turn within one
 *                   run (steadier ratios on a noisy machine)
 * Each variant runs `--rounds` times, rounds interleaved across binaries; medians are reported.
 */
import { existsSync, mkdirSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { failAndExit, parseChoice, parseIntegerOption, progressLog } from "../cli/common.js";
import { minOf } from "../../shared/arrays.js";
import { GPU_CHOICES } from "../../shared/choices.js";
import { openLlama, type LlamaSession } from "../llama/adapter.js";
import type { KvRuntime, NativeBinaryKind, Token } from "../llama/types.js";
import { TINY_MODEL_PRESETS, writeTinyModel, type TinyModelOptions } from "../tiny-model/tinyModel.js";

const SHAPES = {
  "0.6b": { file: "qwen3-0.6b-shape-q8_0-raw.gguf", options: TINY_MODEL_PRESETS["qwen3-0.6b-shape"] },
  // Qwen3-8B dimensions (36 layers, 32 heads, 8 KV heads, head 128, FFN 12288), random weights.
  "8b": {
    file: "qwen3-8b-shape-q8_0-raw.gguf",
    options: {
      arch: "qwen3",
      layers: 36,
      heads: 32,
      kvHeads: 8,
      embedding: 4096,
      headDim: 128,
      feedForward: 12288,
      vocabularySize: 151936,
      contextLength: 40960,
      type: "q8_0",
    },
  },
} as const satisfies Record<string, { file: string; options: TinyModelOptions }>;
type Shape = keyof typeof SHAPES;

const round = (n: number): number => Number(n.toFixed(2));

function summarize(samples: number[]): { medianMs: number; meanMs: number; steps: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    medianMs: round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
    steps: samples.length,
  };
}

const token = (step: number, sequence: number): Token => (1000 + step * 7 + sequence * 3) % 5000;

async function prefill(runtime: KvRuntime, fill: number): Promise<void> {
  for (let sequence = 0; sequence < 2; sequence++) runtime.clear(sequence);
  const prompt = (seed: number): Token[] => Array.from({ length: fill }, (_, i) => (seed + i * 31) % 5000);
  await runtime.decode([
    { sequence: 0, firstPosition: 0, tokens: prompt(1) },
    { sequence: 1, firstPosition: 0, tokens: prompt(2) },
  ]);
}

async function timeSteps(
  count: number,
  warmup: number,
  step: (index: number) => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now();
    await step(i);
    if (i >= warmup) samples.push(performance.now() - t0);
  }
  return samples;
}

function expectPositions(runtime: KvRuntime, sequence: number, max: number, what: string): void {
  const { min, max: got } = runtime.positions(sequence);
  if (min !== 0 || got !== max) {
    throw new Error(`${what}: sequence ${sequence} spans [${min}, ${got}], expected [0, ${max}]`);
  }
}

interface Variant {
  /** Runs the variant once (prefill included); ms per step (or per pass) under each result name. */
  run(): Promise<Record<string, number[]>>;
}

/**
 * The variants for one binary. Each run starts from a fresh prompt in both views. Each view: the
 * prompt at [0, fill), the mirrored block and its gap at [fill, fill + gap), then its own tokens;
 * the gap holds every mirrored token of a run (a real policy shifts once when a gap fills).
 */
function variants(runtime: KvRuntime, fill: number, steps: number, warmup: number): Variant[] {
  const total = steps + warmup;
  const gap = total;
  const timed = (name: string, step: (i: number) => Promise<void>, after?: () => Promise<void>): Variant => ({
    async run() {
      await prefill(runtime, fill);
      const samples = await timeSteps(steps, warmup, step);
      await after?.();
      return { [name]: samples };
    },
  });
  const list: Variant[] = [
    timed("oneToken", async (i) => {
      await runtime.decode([{ sequence: 0, firstPosition: fill + i, tokens: [token(i, 0)], logitIndex: 0 }]);
    }),
    timed("twoTokens", async (i) => {
      await runtime.decode([
        { sequence: 0, firstPosition: fill + i, tokens: [token(i, 0)], logitIndex: 0 },
        { sequence: 1, firstPosition: fill + i, tokens: [token(i, 1)], logitIndex: 0 },
      ]);
    }),
    timed("fourTokensAtEnd", async (i) => {
      await runtime.decode([
        { sequence: 0, firstPosition: fill + 2 * i, tokens: [token(i, 0), token(i, 1)], logitIndex: 0 },
        { sequence: 1, firstPosition: fill + 2 * i, tokens: [token(i, 1), token(i, 0)], logitIndex: 0 },
      ]);
    }),
    // Stock every-step mirroring: the mirrored token goes to the end, then into the mirrored block
    // at fill + i (park it past the end, move the own block up by one, move it down): the next
    // decode pays one K-shift pass.
    timed(
      "stockMirror",
      async (i) => {
        const end = fill + 2 * i; // both views hold fill + i mirrored + i own tokens
        await runtime.decode([
          { sequence: 0, firstPosition: end, tokens: [token(i, 0), token(i, 1)], logitIndex: 0 },
          { sequence: 1, firstPosition: end, tokens: [token(i, 1), token(i, 0)], logitIndex: 0 },
        ]);
        const target = fill + i;
        for (const sequence of [0, 1]) {
          const mirrored = end + 1;
          runtime.shift(sequence, mirrored, mirrored + 1, 1); // park at end + 2
          runtime.shift(sequence, target, mirrored, 1); // the own block up by one
          runtime.shift(sequence, mirrored + 1, mirrored + 2, target - mirrored - 1); // down to fill + i
        }
      },
      async () => {
        expectPositions(runtime, 0, fill + 2 * total - 1, "stockMirror");
        // The last step's shifts are pending; one more decode pays them, as the next step would.
        await runtime.decode([{ sequence: 0, firstPosition: fill + 2 * total, tokens: [1] }]);
      },
    ),
    {
      // One K-shift pass alone: an append with a pending one-cell shift, minus an append without.
      async run() {
        await prefill(runtime, fill);
        const plainAppend: number[] = [];
        const appendWithPass: number[] = [];
        for (let i = 0; i < 8; i++) {
          let t0 = performance.now();
          await runtime.decode([{ sequence: 0, firstPosition: fill, tokens: [7], logitIndex: 0 }]);
          plainAppend.push(performance.now() - t0);
          runtime.shift(0, fill, fill + 1, 1);
          t0 = performance.now();
          await runtime.decode([{ sequence: 0, firstPosition: fill + 2, tokens: [8], logitIndex: 0 }]);
          appendWithPass.push(performance.now() - t0);
          runtime.remove(0, fill, -1);
        }
        return { shiftPassMs: [summarize(appendWithPass).medianMs - summarize(plainAppend).medianMs] };
      },
    },
  ];
  const withGaps = (variant: Variant): Variant => ({
    async run() {
      runtime.setGapDecoding(true);
      try {
        return await variant.run();
      } finally {
        runtime.setGapDecoding(false);
      }
    },
  });
  if (runtime.capabilities.gapDecode) {
    list.push(
      withGaps(
        timed(
          "gapMirror",
          async (i) => {
            const own = fill + gap + i;
            // The runtime orders each sequence's items by position (gap first).
            await runtime.decode([
              { sequence: 0, firstPosition: own, tokens: [token(i, 0)], logitIndex: 0 },
              { sequence: 0, firstPosition: fill + i, tokens: [token(i, 1)] },
              { sequence: 1, firstPosition: own, tokens: [token(i, 1)], logitIndex: 0 },
              { sequence: 1, firstPosition: fill + i, tokens: [token(i, 0)] },
            ]);
          },
          // The gap is exactly filled: the view is contiguous again.
          async () => expectPositions(runtime, 0, fill + gap + total - 1, "gapMirror"),
        ),
      ),
    );
  }
  if (runtime.capabilities.kvCopy && runtime.capabilities.gapDecode) {
    for (const [name, directions] of [
      ["copyMirror", [0, 1]],
      ["copyOne", [0]],
    ] as const) {
      list.push(
        withGaps(
          timed(name, async (i) => {
            const own = fill + gap + i;
            await runtime.decode([
              { sequence: 0, firstPosition: own, tokens: [token(i, 0)], logitIndex: 0 },
              { sequence: 1, firstPosition: own, tokens: [token(i, 1)], logitIndex: 0 },
            ]);
            await runtime.copyCells(
              directions.map((from) => ({
                from,
                to: 1 - from,
                start: own,
                end: own + 1,
                delta: fill + i - own,
              })),
            );
          }),
        ),
      );
    }
  }
  if (runtime.capabilities.kvCopy && runtime.capabilities.gapDecode) {
    // The three ways of a step in turn, in one run: slow spells of the machine hit all three alike,
    // so their ratios are steadier than those of separate runs.
    list.push(
      withGaps({
        async run() {
          await prefill(runtime, fill);
          const out: Record<string, number[]> = {
            pairedOwnOnly: [],
            pairedGapMirror: [],
            pairedCopyMirror: [],
          };
          let mirrored = 0;
          for (let i = 0; i < 3 * (steps + warmup); i++) {
            const own = fill + gap * 3 + i;
            const kind = (["pairedOwnOnly", "pairedGapMirror", "pairedCopyMirror"] as const)[i % 3]!;
            const ownItems = [
              { sequence: 0, firstPosition: own, tokens: [token(i, 0)], logitIndex: 0 },
              { sequence: 1, firstPosition: own, tokens: [token(i, 1)], logitIndex: 0 },
            ];
            const t0 = performance.now();
            if (kind === "pairedOwnOnly") await runtime.decode(ownItems);
            if (kind === "pairedGapMirror") {
              await runtime.decode([
                ...ownItems,
                { sequence: 0, firstPosition: fill + mirrored, tokens: [token(i, 1)] },
                { sequence: 1, firstPosition: fill + mirrored, tokens: [token(i, 0)] },
              ]);
            }
            if (kind === "pairedCopyMirror") {
              await runtime.decode(ownItems);
              await runtime.copyCells(
                [0, 1].map((from) => ({
                  from,
                  to: 1 - from,
                  start: own,
                  end: own + 1,
                  delta: fill + mirrored - own,
                })),
              );
            }
            if (i >= 3 * warmup) out[kind]!.push(performance.now() - t0);
            if (kind !== "pairedOwnOnly") mirrored++;
          }
          return out;
        },
      }),
    );
  }
  return list;
}

/**
 * Runs every variant of every binary `rounds` times, interleaved, so slow spells of a shared
 * machine spread over all of them. One binary is open at a time: an idle context's thread pool
 * still polls for work, and on a small machine that slows the other one down. Per variant: the
 * median over every sample, the lowest per-round median, and the mean.
 */
async function benchBinaries(
  binaries: readonly NativeBinaryKind[],
  open: (binary: NativeBinaryKind) => Promise<LlamaSession>,
  options: { fill: number; steps: number; warmup: number; rounds: number },
  log: (line: string) => void,
): Promise<Record<string, Record<string, unknown>>> {
  const samples = new Map<string, number[]>();
  const roundMedians = new Map<string, number[]>();
  const names = new Map<NativeBinaryKind, string[]>();
  const results: Record<string, Record<string, unknown>> = {};
  for (let r = 0; r < options.rounds; r++) {
    for (const binary of binaries) {
      log(`round ${r + 1} of ${options.rounds}, ${binary} binary`);
      const session = await open(binary);
      try {
        const { description } = session;
        results[binary] ??= {
          gpu: description.gpu,
          threads: description.threads,
          capabilities: description.capabilities,
        };
        const list = variants(session.runtime, options.fill, options.steps, options.warmup);
        const order = names.get(binary) ?? [];
        for (const variant of list) {
          for (const [name, s] of Object.entries(await variant.run())) {
            if (!order.includes(name)) order.push(name);
            const key = `${binary}/${name}`;
            samples.set(key, [...(samples.get(key) ?? []), ...s]);
            roundMedians.set(key, [...(roundMedians.get(key) ?? []), summarize(s).medianMs]);
          }
        }
        names.set(binary, order);
      } finally {
        await session.dispose();
      }
    }
  }
  for (const binary of binaries) {
    const r = results[binary]!;
    log(
      `${binary} binary (gpu ${String(r.gpu)}, ${String(r.threads)} threads, ` +
        `${JSON.stringify(r.capabilities)}), ms per step (shiftPassMs: ms per pass):`,
    );
    for (const name of names.get(binary) ?? []) {
      const all = summarize(samples.get(`${binary}/${name}`)!);
      const best = round(minOf(roundMedians.get(`${binary}/${name}`)!));
      r[name] = { medianMs: all.medianMs, bestRoundMedianMs: best, meanMs: all.meanMs, samples: all.steps };
      log(
        `  ${name.padEnd(16)} median ${String(all.medianMs).padStart(8)}, best round ${String(best).padStart(8)}, mean ${all.meanMs}`,
      );
    }
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean" },
      model: { type: "string" },
      shape: { type: "string" },
      binary: { type: "string" },
      gpu: { type: "string" },
      context: { type: "string" },
      fill: { type: "string" },
      steps: { type: "string" },
      rounds: { type: "string" },
      threads: { type: "string" },
      "cache-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "Usage: npm run bench:native -- [--json] [--model PATH] [--shape 0.6b|8b] [--binary both|stock|patched]\n" +
        "       [--gpu cpu|cuda|vulkan|metal|auto] [--context N] [--fill N] [--steps N] [--rounds N] [--threads N]\n",
    );
    return;
  }
  const json = values.json ?? false;
  const log = progressLog(json);
  const shape: Shape = parseChoice("shape", values.shape, ["0.6b", "8b"] as const) ?? "0.6b";
  const binaries = parseChoice("binary", values.binary, ["both", "stock", "patched"] as const) ?? "both";
  const gpu = parseChoice("gpu", values.gpu, GPU_CHOICES) ?? "cpu";
  const contextSize = parseIntegerOption("context", values.context, 256) ?? 2048;
  const fill = parseIntegerOption("fill", values.fill, 1) ?? 600;
  const steps = parseIntegerOption("steps", values.steps, 4) ?? 24;
  const warmup = 3;
  const rounds = parseIntegerOption("rounds", values.rounds, 1) ?? 3;
  if (fill + 3 * (steps + warmup) + 2 > contextSize) {
    throw new Error(`--fill ${fill} and --steps ${steps} need more than --context ${contextSize} cells.`);
  }
  const threads = parseIntegerOption("threads", values.threads);

  let modelPath = values.model;
  if (!modelPath) {
    const dir = values["cache-dir"] ?? join(tmpdir(), "duet-bench");
    modelPath = join(dir, SHAPES[shape].file);
    if (!existsSync(modelPath)) {
      mkdirSync(dir, { recursive: true });
      log(`Generating a Qwen3-${shape}-shaped model with random weights at ${modelPath} (once)...`);
      await writeTinyModel(modelPath, { ...SHAPES[shape].options, seed: 7 });
    }
  }
  log(`Model: ${modelPath}`);
  log(
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
      `context 2 x ${contextSize}, ${fill} prompt tokens per view, ${steps} steps`,
  );

  const byBinary = await benchBinaries(
    binaries === "both" ? ["stock", "patched"] : [binaries],
    (binary) =>
      openLlama({ modelPath, gpu, contextSize, sequences: 2, binary, ...(threads ? { threads } : {}) }),
    { fill, steps, warmup, rounds },
    log,
  );
  const summary = { model: modelPath, shape, contextSize, fill, steps, rounds, binaries: byBinary };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => failAndExit(error));
