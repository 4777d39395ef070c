/**
 * Duet's patched llama.cpp (docs/native-build.md): gap decoding and the K/V block copy, checked
 * against plain decodes of the same tokens at the same positions on generated f32 models.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openLlama, type LlamaSession } from "../../../src/engine/llama/adapter.js";
import { distributionDistance, fullDistribution } from "../../../src/engine/llama/selfTest.js";
import type { KvRuntime, Token } from "../../../src/engine/llama/types.js";
import type { TinyModelOptions } from "../../../src/engine/tiny-model/tinyModel.js";
import { tinyModelPath } from "../../helpers/models.js";
import { patchedLlamaAvailability } from "../../helpers/patchedLlama.js";

const patched = patchedLlamaAvailability();

const opened: LlamaSession[] = [];
afterAll(async () => {
  for (const s of opened) await s.dispose();
});

async function open(
  model: TinyModelOptions,
  binary: "stock" | "patched",
  extra: { kvCacheType?: "f32" | "f16"; contextSize?: number } = {},
): Promise<LlamaSession> {
  const s = await openLlama({
    modelPath: await tinyModelPath(model),
    gpu: "cpu",
    contextSize: extra.contextSize ?? 512,
    kvCacheType: extra.kvCacheType ?? "f32",
    binary,
  });
  opened.push(s);
  return s;
}

const run = (start: number, n: number): Token[] =>
  Array.from({ length: n }, (_, i) => (start + i * 13) % 240);

async function decodeAt(
  runtime: KvRuntime,
  sequence: number,
  firstPosition: number,
  tokens: Token[],
  logits = false,
) {
  const [ref] = await runtime.decode([
    { sequence, firstPosition, tokens, ...(logits ? { logitIndex: tokens.length - 1 } : {}) },
  ]);
  return logits ? fullDistribution(runtime, ref) : undefined;
}

/** Next-token distribution of a plain decode of `tokens` at 0..n-1 in `sequence` (cleared before and after). */
async function plain(runtime: KvRuntime, sequence: number, tokens: Token[]): Promise<Map<Token, number>> {
  runtime.clear(sequence);
  const d = (await decodeAt(runtime, sequence, 0, tokens, true))!;
  runtime.clear(sequence);
  return d;
}

const P = run(3, 20);
const X = run(101, 3);
const T = run(57, 10);
const N = [211];
const GAP = 4; // positions [20, 24) are left free after P

if (patched.required && !patched.available) {
  describe("Duet's patched llama.cpp", () => {
    it("is built (DUET_REQUIRE_PATCHED_LLAMA=1)", () => {
      throw new Error(`The patched llama.cpp is required here but missing: ${patched.reason}.`);
    });
  });
}

describe.skipIf(!patched.available)(
  `Duet's patched llama.cpp${patched.available ? "" : ` (skipped: ${patched.reason})`}`,
  () => {
    it("reports what it can do, and behaves as stock until asked for gaps", async () => {
      const s = await open({ layers: 1, seed: 61 }, "patched");
      expect(s.description.binary).toBe("patched");
      expect(s.description.capabilities).toEqual({ gapDecode: true, kvCopy: true });
      expect(s.runtime.capabilities).toEqual({ gapDecode: true, kvCopy: true });
      // The capability probe left the sequences empty.
      expect(s.runtime.positions(0)).toEqual({ min: -1, max: -1 });
      expect(s.runtime.positions(1)).toEqual({ min: -1, max: -1 });

      // Without the guard, a decode into a gap is refused exactly like stock, and leaves no cells.
      const stock = await open({ layers: 1, seed: 61 }, "stock");
      for (const runtime of [s.runtime, stock.runtime]) {
        await decodeAt(runtime, 0, 0, P);
        await expect(decodeAt(runtime, 0, P.length + GAP, T)).rejects.toMatchObject({
          code: "decode-failed",
        });
        expect(runtime.positions(0)).toEqual({ min: 0, max: P.length - 1 });
        runtime.clear(0);
      }
      // Turning the guard off again restores the stock rule.
      s.runtime.setGapDecoding(true);
      s.runtime.setGapDecoding(false);
      await decodeAt(s.runtime, 0, 0, P);
      await expect(decodeAt(s.runtime, 0, P.length + 1, X)).rejects.toMatchObject({ code: "decode-failed" });
      s.runtime.clear(0);
    });

    for (const [name, model] of [
      ["qwen3, 4 layers", { arch: "qwen3", layers: 4, seed: 62 }],
      ["llama, 4 layers, GQA", { arch: "llama", layers: 4, heads: 4, kvHeads: 2, seed: 63 }],
    ] as Array<[string, TinyModelOptions]>) {
      it(`a token decoded into a gap has the logits of a plain decode of its prefix (${name})`, async () => {
        const { runtime } = await open(model, "patched");
        runtime.setGapDecoding(true);
        try {
          // View: P at [0, 20), a gap at [20, 24), T at [24, 34).
          await decodeAt(runtime, 0, 0, P);
          await decodeAt(runtime, 0, P.length + GAP, T);
          // X into the gap: it attends to P only (T's positions are above it).
          const inGap = (await decodeAt(runtime, 0, P.length, X, true))!;
          const reference = await plain(runtime, 1, [...P, ...X]);
          expect(await distributionDistance(runtime, inGap, reference)).toBeLessThan(1e-4);
          // A different prefix is far away, so the comparison above can fail.
          const other = await plain(runtime, 1, [...P.slice(1), ...X]);
          expect(await distributionDistance(runtime, inGap, other)).toBeGreaterThan(1e-2);
        } finally {
          runtime.setGapDecoding(false);
          runtime.clear(0);
        }
      });
    }

    it("one batch holding a gap token and an end token equals two separate decodes (4 layers)", async () => {
      const { runtime } = await open({ arch: "qwen3", layers: 4, heads: 4, kvHeads: 2, seed: 64 }, "patched");
      runtime.setGapDecoding(true);
      try {
        const end = P.length + GAP + T.length;
        for (const sequence of [0, 1]) {
          await decodeAt(runtime, sequence, 0, P);
          await decodeAt(runtime, sequence, P.length + GAP, T);
        }
        // Sequence 0: the gap token and the next own token in one batch (given in reverse order:
        // the runtime orders them by position, as llama.cpp requires).
        const [endRef, gapRef] = await runtime.decode([
          { sequence: 0, firstPosition: end, tokens: N, logitIndex: 0 },
          { sequence: 0, firstPosition: P.length, tokens: X, logitIndex: X.length - 1 },
        ]);
        const batchedEnd = await fullDistribution(runtime, endRef);
        const batchedGap = await fullDistribution(runtime, gapRef);
        // Sequence 1: the same tokens, one decode each.
        const separateGap = (await decodeAt(runtime, 1, P.length, X, true))!;
        const separateEnd = (await decodeAt(runtime, 1, end, N, true))!;
        expect(await distributionDistance(runtime, batchedGap, separateGap)).toBeLessThan(1e-4);
        expect(await distributionDistance(runtime, batchedEnd, separateEnd)).toBeLessThan(1e-4);
        expect(runtime.positions(0)).toEqual({ min: 0, max: end });
      } finally {
        runtime.setGapDecoding(false);
        runtime.clear(0);
        runtime.clear(1);
      }
    });

    it("a filled gap equals a plain decode of the final layout on 1 layer, not deeper (later cells never saw it)", async () => {
      const finalLayout = async (layers: number): Promise<number> => {
        const { runtime } = await open({ arch: "qwen3", layers, seed: 65 }, "patched");
        runtime.setGapDecoding(true);
        try {
          const end = P.length + X.length + T.length;
          // Incremental: P, then T after a gap of exactly |X|, then X into the gap, then N.
          await decodeAt(runtime, 0, 0, P);
          await decodeAt(runtime, 0, P.length + X.length, T);
          await decodeAt(runtime, 0, P.length, X);
          const incremental = (await decodeAt(runtime, 0, end, N, true))!;
          const reference = await plain(runtime, 1, [...P, ...X, ...T, ...N]);
          return await distributionDistance(runtime, incremental, reference);
        } finally {
          runtime.setGapDecoding(false);
          runtime.clear(0);
        }
      };
      // One layer: a cell's key and value depend on its token and position only.
      expect(await finalLayout(1)).toBeLessThan(1e-4);
      // Four layers: T was computed before X existed, as a mirrored thought is for the writer's earlier words.
      expect(await finalLayout(4)).toBeGreaterThan(1e-3);
    });

    it("a copied block rotated by delta has the logits of a plain decode there (1 layer; f32 and f16 caches)", async () => {
      for (const [kvCacheType, tolerance] of [
        ["f32", 1e-4],
        ["f16", 0.05],
      ] as const) {
        for (const delta of [10, -5, 0]) {
          const { runtime } = await open({ arch: "qwen3", layers: 1, seed: 66 }, "patched", { kvCacheType });
          // Sequence 0 computes X after P; sequence 1 holds Q, of a length that puts X at 20 + delta.
          const Q = run(7, P.length + delta);
          await decodeAt(runtime, 0, 0, [...P, ...X]);
          await decodeAt(runtime, 1, 0, Q);
          const copied = await runtime.copyCells([
            { from: 0, to: 1, start: P.length, end: P.length + X.length, delta },
          ]);
          expect(copied).toBe(X.length);
          expect(runtime.positions(1)).toEqual({ min: 0, max: Q.length + X.length - 1 });
          const afterCopy = (await decodeAt(runtime, 1, Q.length + X.length, N, true))!;
          runtime.clear(0);
          const reference = await plain(runtime, 0, [...Q, ...X, ...N]);
          expect(await distributionDistance(runtime, afterCopy, reference)).toBeLessThan(tolerance);
          runtime.clear(1);
        }
      }
    });

    it("a copied whole prefix equals its source at any depth; a copied block keeps its source's context (4 layers)", async () => {
      const { runtime } = await open({ arch: "qwen3", layers: 4, heads: 4, kvHeads: 2, seed: 67 }, "patched");
      const source = [...P, ...X];
      const delta = 37;
      await decodeAt(runtime, 0, 0, source);
      // The whole view moved by delta: every cell keeps exactly its context (RoPE is relative).
      expect(await runtime.copyCells([{ from: 0, to: 1, start: 0, end: source.length, delta }])).toBe(
        source.length,
      );
      const copied = (await decodeAt(runtime, 1, source.length + delta, N, true))!;
      const original = (await decodeAt(runtime, 0, source.length, N, true))!;
      expect(await distributionDistance(runtime, copied, original)).toBeLessThan(1e-4);
      runtime.clear(1);

      // A block alone: its keys and values were computed after P, and stay so after Q. That is the
      // paper's "computed once, shown in both views"; a plain decode after Q computes them anew.
      const Q = run(9, P.length);
      await decodeAt(runtime, 1, 0, Q);
      await runtime.copyCells([{ from: 0, to: 1, start: P.length, end: source.length, delta: 0 }]);
      const block = (await decodeAt(runtime, 1, source.length, N, true))!;
      runtime.clear(0);
      const recomputed = await plain(runtime, 0, [...Q, ...X, ...N]);
      expect(await distributionDistance(runtime, block, recomputed)).toBeGreaterThan(1e-3);
      runtime.clear(1);
    });

    it("applies pending shifts before copying, keeps the last logits readable, and refuses a copy that does not fit", async () => {
      const { runtime } = await open({ arch: "qwen3", layers: 1, seed: 68 }, "patched", { contextSize: 256 });
      // X parked 5 positions further out (a pending shift), then copied from there.
      await decodeAt(runtime, 0, 0, [...P, ...X]);
      runtime.shift(0, P.length, P.length + X.length, 5);
      const lastLogits = (
        await runtime.decode([{ sequence: 1, firstPosition: 0, tokens: P, logitIndex: P.length - 1 }])
      )[0]!;
      const before = await fullDistribution(runtime, lastLogits);
      expect(
        await runtime.copyCells([
          { from: 0, to: 1, start: P.length + 5, end: P.length + 5 + X.length, delta: -5 },
        ]),
      ).toBe(X.length);
      // The copy computes no logits: the handle from the last decode still reads the same row.
      expect(await distributionDistance(runtime, await fullDistribution(runtime, lastLogits), before)).toBe(
        0,
      );
      const afterCopy = (await decodeAt(runtime, 1, P.length + X.length, N, true))!;
      const reference = await plain(runtime, 0, [...P, ...X, ...N]);
      expect(await distributionDistance(runtime, afterCopy, reference)).toBeLessThan(1e-4);

      // Sequence 1 has 256 cells; 23 are used. A copy of 240 does not fit and copies nothing.
      await decodeAt(runtime, 0, 0, run(1, 240));
      await expect(
        runtime.copyCells([{ from: 0, to: 1, start: 0, end: 240, delta: 100 }]),
      ).rejects.toMatchObject({
        code: "context-overflow",
      });
      expect(runtime.positions(1)).toEqual({ min: 0, max: P.length + X.length });
      runtime.clear(0);
      runtime.clear(1);
    });
  },
);

describe("the stock binary", () => {
  it("reports no capabilities beyond stock and refuses the patched operations clearly", async () => {
    const s = await open({ layers: 1, seed: 69 }, "stock");
    expect(s.description.binary).toBe("stock");
    expect(s.description.binaryNote).toMatch(/stock binary was requested/);
    expect(s.runtime.capabilities).toEqual({ gapDecode: false, kvCopy: false });
    expect(() => s.runtime.setGapDecoding(true)).toThrow(
      expect.objectContaining({ code: "unsupported-operation" }),
    );
    await expect(s.runtime.copyCells([{ from: 0, to: 1, start: 0, end: 1, delta: 1 }])).rejects.toMatchObject(
      {
        code: "unsupported-operation",
      },
    );
  });
});
