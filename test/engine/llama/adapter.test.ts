import { copyFile, truncate, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { isDuetError } from "../../../src/engine/errors.js";
import { openLlama, type LlamaSession } from "../../../src/engine/llama/adapter.js";
import {
  fullDistribution,
  runAdapterSelfTest,
  distributionDistance,
} from "../../../src/engine/llama/selfTest.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { scratchPath, tinyModelPath } from "../../helpers/models.js";

const sessions: LlamaSession[] = [];
async function open(
  options: Parameters<typeof tinyModelPath>[0],
  extra: Partial<Parameters<typeof openLlama>[0]> = {},
) {
  const session = await openLlama({
    modelPath: await tinyModelPath(options),
    gpu: "cpu",
    contextSize: 512,
    ...extra,
  });
  sessions.push(session);
  return session;
}
afterAll(async () => {
  for (const s of sessions) await s.dispose();
});

describe("llama.cpp adapter self-test (fails loudly if node-llama-cpp internals change)", () => {
  const variants = [
    {
      name: "qwen3, f32 cache",
      model: { arch: "qwen3" as const, seed: 11 },
      kv: "f32" as const,
      tolerance: 1e-3,
    },
    {
      name: "qwen3, f16 cache",
      model: { arch: "qwen3" as const, seed: 11 },
      kv: "f16" as const,
      tolerance: 0.05,
    },
    {
      name: "llama, f32 cache",
      model: { arch: "llama" as const, seed: 12 },
      kv: "f32" as const,
      tolerance: 1e-3,
    },
    {
      name: "qwen3 with grouped-query attention",
      model: { arch: "qwen3" as const, heads: 4, kvHeads: 2, seed: 13 },
      kv: "f32" as const,
      tolerance: 1e-3,
    },
    {
      name: "llama with grouped-query attention, f16 weights",
      model: { arch: "llama" as const, heads: 4, kvHeads: 1, type: "f16" as const, seed: 14 },
      kv: "f16" as const,
      tolerance: 0.05,
    },
  ];
  for (const variant of variants) {
    it(`moves, inserts and removes exactly: ${variant.name}`, async () => {
      const session = await open(variant.model, { kvCacheType: variant.kv });
      const result = await runAdapterSelfTest(session.runtime, {
        vocabularySize: session.tokenizer.vocabularySize,
        tolerance: variant.tolerance,
      });
      expect(result.shiftAll).toBeLessThan(variant.tolerance);
      expect(result.insertViaEnd).toBeLessThan(variant.tolerance);
      expect(result.probeRemoved).toBeLessThan(variant.tolerance);
      // A wrong layout is far from the reference, so the comparison above can fail.
      expect(result.wrongLayout).toBeGreaterThan(0.5);
      expect(result.passed).toBe(true);
    });
  }

  it("splits a decode larger than the batch and keeps logits for the last tokens", async () => {
    const session = await open({ seed: 15 }, { batchSize: 16, kvCacheType: "f32" });
    const { runtime } = session;
    const tokens = Array.from({ length: 45 }, (_, i) => (i * 7) % 200);
    const [split] = await runtime.decode([
      { sequence: 0, firstPosition: 0, tokens, logitIndex: tokens.length - 1 },
    ]);
    const a = await fullDistribution(runtime, split);
    for (let start = 0; start < tokens.length; start += 16) {
      const chunk = tokens.slice(start, start + 16);
      const last = start + chunk.length >= tokens.length;
      const [ref] = await runtime.decode([
        {
          sequence: 1,
          firstPosition: start,
          tokens: chunk,
          ...(last ? { logitIndex: chunk.length - 1 } : {}),
        },
      ]);
      if (last)
        expect(await distributionDistance(runtime, a, await fullDistribution(runtime, ref))).toBeLessThan(
          1e-4,
        );
    }
    expect(runtime.positions(0)).toEqual({ min: 0, max: 44 });
    // Logits of an older decode are refused instead of silently reading the wrong row.
    await expect(runtime.sample(split!, runtime.createSampler({}))).rejects.toThrow(/overwritten/);
    runtime.clear(0);
    runtime.clear(1);
  });

  it("keeps every sequence's cells through garbage collection", async () => {
    const session = await open({ seed: 17 });
    await session.runtime.decode([
      { sequence: 0, firstPosition: 0, tokens: [1, 2, 3, 4] },
      { sequence: 1, firstPosition: 0, tokens: [5, 6] },
    ]);
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeDefined();
    for (let i = 0; i < 5; i++) {
      gc!();
      // Finalizers run in a later task than the collection.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(session.runtime.positions(0)).toEqual({ min: 0, max: 3 });
    expect(session.runtime.positions(1)).toEqual({ min: 0, max: 1 });
    session.runtime.clear(0);
    session.runtime.clear(1);
  });

  it("rejects out-of-order positions with a clear error and stays usable", async () => {
    const session = await open({ seed: 16 });
    await session.runtime.decode([{ sequence: 0, firstPosition: 0, tokens: [1, 2, 3] }]);
    await expect(
      session.runtime.decode([{ sequence: 0, firstPosition: 10, tokens: [4] }]),
    ).rejects.toMatchObject({ code: "decode-failed" });
    const [ok] = await session.runtime.decode([
      { sequence: 0, firstPosition: 3, tokens: [4], logitIndex: 0 },
    ]);
    // The refused batch left no cells behind: the sequence continues at position 3.
    expect(session.runtime.positions(0)).toEqual({ min: 0, max: 3 });
    expect(await session.runtime.sample(ok!, session.runtime.createSampler({}))).toBeLessThan(
      session.tokenizer.vocabularySize,
    );
    session.runtime.clear(0);
  });
});

describe("tokenizer of a generated Qwen-style model", () => {
  it("has the ChatML control tokens and user-defined think tokens, and the demo words as single tokens", async () => {
    const session = await open({ program: DEMO_PROGRAM });
    const t = session.tokenizer;
    for (const special of ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"]) {
      expect(t.specialToken(special)).toBeDefined();
    }
    // Control tokens stay text without special parsing; `<think>` is user-defined and does not.
    expect(t.tokenize("<|im_start|>").length).toBeGreaterThan(1);
    expect(t.tokenize("<think>")).toEqual([t.specialToken("<think>")]);
    expect(t.tokenize(" adding")).toHaveLength(1);
    expect(t.isEndOfGeneration(t.specialToken("<|im_end|>")!)).toBe(true);
    expect(t.detokenize(t.tokenize("Two and two make four;"))).toBe("Two and two make four;");
  });
});

describe("model files the engine must refuse", () => {
  const refuse = async (path: string, code: string, message: RegExp) => {
    const error = await openLlama({ modelPath: path, gpu: "cpu" }).catch((e: unknown) => e);
    expect(isDuetError(error)).toBe(true);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  };

  it("a missing file, a truncated file and a file that is not GGUF", async () => {
    await refuse("/no/such/model.gguf", "model-not-found", /not found/);
    const cut = scratchPath("cut.gguf");
    await copyFile(await tinyModelPath({ seed: 21 }), cut);
    await truncate(cut, 5000);
    await refuse(cut, "gguf-truncated", /truncated/);
    const text = scratchPath("readme.gguf");
    await writeFile(text, "# not a model\n");
    await refuse(text, "gguf-bad-magic", /not a GGUF/);
  });

  it("architectures whose keys cannot be moved, naming the architecture", async () => {
    await refuse(
      await tinyModelPath({ architectureName: "qwen2vl", seed: 22 }),
      "unsupported-rope",
      /"qwen2vl".*M-RoPE/,
    );
    await refuse(await tinyModelPath({ architectureName: "bert", seed: 22 }), "unsupported-rope", /"bert"/);
    await refuse(
      await tinyModelPath({ architectureName: "qwen3next", seed: 22 }),
      "unsupported-architecture",
      /"qwen3next".*recurrent/,
    );
    await refuse(
      await tinyModelPath({ architectureName: "gemma3", seed: 22 }),
      "unsupported-architecture",
      /"gemma3"/,
    );
  });

  it("a quantized key cache", async () => {
    const error = await openLlama({
      modelPath: await tinyModelPath({ seed: 23 }),
      gpu: "cpu",
      kvCacheType: "q8_0",
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "unsupported-kv-cache",
      message: expect.stringMatching(/re-quantizes/),
    });
  });
});
