/**
 * The engine on Duet's own llama.cpp build, decoding mirrors into gaps (docs/native-build.md).
 * Shadow check: each stream's distribution is recorded at the moment it samples, and compared
 * with a fresh context fed the view as it then stands (the same tokens at the same positions).
 * - On a 1-layer model every distribution is equal to float noise: a thought decoded into the
 *   writer's gap sees exactly its prefix, and nothing is rotated.
 * - On deeper models cells decoded before a gap was filled (the writer's linker and earlier
 *   answer words) never saw the thoughts that arrived below them later: the method's one
 *   approximation (docs/method.md, "Positions"). A view that only ever grows at its end (the
 *   thinker's, in the compact layout) stays exact at any depth.
 * Thought lag is 0 at every writer decode.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openLlama, type LlamaSession } from "../../../src/engine/llama/adapter.js";
import { distributionDistance, fullDistribution } from "../../../src/engine/llama/selfTest.js";
import type { BatchItem, LogitsRef, Token } from "../../../src/engine/llama/types.js";
import { ReasoningEngine, type ReasoningEngineOptions } from "../../../src/engine/reasoning/engine.js";
import type { TinyModelOptions } from "../../../src/engine/tiny-model/tinyModel.js";
import { tinyModelPath } from "../../helpers/models.js";
import { patchedLlamaAvailability } from "../../helpers/patchedLlama.js";

const patched = patchedLlamaAvailability();
const ONE_LAYER: TinyModelOptions = { arch: "qwen3", heads: 4, kvHeads: 2, seed: 51 };
const FOUR_LAYERS: TinyModelOptions = { arch: "qwen3", layers: 4, heads: 4, kvHeads: 2, seed: 52 };

const opened: Array<{ dispose(): Promise<void> }> = [];
afterAll(async () => {
  for (const o of opened) await o.dispose();
});

/** A fresh context that decodes a view's tokens at the view's positions (holes included). */
async function reference(model: TinyModelOptions): Promise<LlamaSession> {
  const s = await openLlama({
    modelPath: await tinyModelPath(model),
    gpu: "cpu",
    contextSize: 2048,
    sequences: 1,
    kvCacheType: "f32",
    binary: "patched",
  });
  s.runtime.setGapDecoding(true);
  opened.push(s);
  return s;
}

async function plainAt(s: LlamaSession, tokens: Token[], positions: number[]): Promise<Map<Token, number>> {
  s.runtime.clear(0);
  // One item per run of consecutive positions; the last token's logits are read.
  const items: BatchItem[] = [];
  let start = 0;
  for (let i = 1; i <= tokens.length; i++) {
    if (i === tokens.length || positions[i] !== positions[i - 1]! + 1) {
      items.push({ sequence: 0, firstPosition: positions[start]!, tokens: tokens.slice(start, i) });
      start = i;
    }
  }
  items[items.length - 1] = {
    ...items[items.length - 1]!,
    logitIndex: items[items.length - 1]!.tokens.length - 1,
  };
  const refs = await s.runtime.decode(items);
  const distribution = await fullDistribution(s.runtime, refs[refs.length - 1]);
  s.runtime.clear(0);
  return distribution;
}

interface Sampled {
  sequence: number;
  distribution: Map<Token, number>;
  /** The sequence's view, tokens and positions, when it sampled. */
  tokens: Token[];
  positions: number[];
}

/** An engine whose every sampling is recorded with the distribution and the view it came from. */
async function shadowedEngine(model: TinyModelOptions, options: ReasoningEngineOptions) {
  const engine = await ReasoningEngine.open({
    modelPath: await tinyModelPath(model),
    gpu: "cpu",
    contextSize: 1024,
    kvCacheType: "f32",
    binary: "patched",
    placement: "gap",
    thoughtSharing: "every-step",
    gapTokens: 16,
    ...options,
  });
  opened.push(engine);
  const runtime = engine.runtime;
  const sequenceOf = new Map<string, number>();
  const decode = runtime.decode.bind(runtime);
  runtime.decode = async (items) => {
    const refs = await decode(items);
    refs.forEach((ref, i) => {
      if (ref) sequenceOf.set(`${ref.decodeId}/${ref.index}`, items[i]!.sequence);
    });
    return refs;
  };
  const sampled: Sampled[] = [];
  const sample = runtime.sample.bind(runtime);
  runtime.sample = async (logits: LogitsRef, sampler) => {
    const sequence = sequenceOf.get(`${logits.decodeId}/${logits.index}`)!;
    const view = Object.keys(engine.inspectViews())[sequence]!;
    sampled.push({
      sequence,
      distribution: await fullDistribution(runtime, logits),
      tokens: engine.inspectViews()[view]!,
      positions: engine.inspectPositions()[view]!,
    });
    return sample(logits, sampler);
  };
  return { engine, sampled };
}

async function expectExact(model: TinyModelOptions, sampled: Sampled[]): Promise<number> {
  const s = await reference(model);
  let worst = 0;
  for (const record of sampled) {
    const plain = await plainAt(s, record.tokens, record.positions);
    worst = Math.max(worst, await distributionDistance(s.runtime, record.distribution, plain));
  }
  expect(sampled.length).toBeGreaterThan(10);
  expect(worst).toBeLessThan(1e-4);
  return worst;
}

describe.skipIf(!patched.available && !patched.required)(`gap decoding is exact (${patched.reason})`, () => {
  it("is there", () => expect(patched.available, patched.reason).toBe(true));

  it("in a whole turn of both streams, and the writer never lags (paper layout, 1 layer)", async () => {
    const { engine, sampled } = await shadowedEngine(ONE_LAYER, { probe: "yes", maxSteps: 40 });
    const result = await engine.ask("What is two plus two?").done;
    expect(result.metrics.writerTokens).toBeGreaterThan(5);
    expect(result.metrics.thoughtLagMax).toBe(0);
    // The gaps did their job: mirrors every step, yet almost no shift passes.
    expect(result.metrics.mirroredTokens).toBeGreaterThan(30);
    expect(result.metrics.shiftPasses).toBeLessThanOrEqual(8);
    await expectExact(ONE_LAYER, sampled);
  });

  it("across turns, with the history kept (1 layer)", async () => {
    const { engine, sampled } = await shadowedEngine(ONE_LAYER, { probe: "yes", maxSteps: 25 });
    for (const question of ["What is two plus two?", "And three plus three?", "Thanks!"])
      await engine.ask(question).done;
    expect(engine.history).toHaveLength(3);
    await expectExact(ONE_LAYER, sampled);
  });

  it("the thinker's view, which only grows at its end, is exact at any depth (compact layout, 4 layers)", async () => {
    const { engine, sampled } = await shadowedEngine(FOUR_LAYERS, {
      probe: "yes",
      maxSteps: 30,
      layout: "compact",
    });
    const result = await engine.ask("Name a colour.").done;
    expect(result.metrics.thoughtLagMax).toBe(0);
    // Sequence 1 is the thinker's view.
    await expectExact(
      FOUR_LAYERS,
      sampled.filter((record) => record.sequence === 1),
    );
  });
});
