/**
 * The copy model (docs/programmed-models.md): attention set by construction, checked through real
 * llama.cpp with plain decodes through the adapter, then with blocks moved the way the engine
 * moves them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openLlama, type LlamaSession } from "../../../src/engine/llama/adapter.js";
import type { LogitsRef, Token } from "../../../src/engine/llama/types.js";
import { ViewCache } from "../../../src/engine/reasoning/viewCache.js";
import { previousTokenHead, type TinyCopyRule } from "../../../src/engine/tiny-model/copyProgram.js";
import { writeTinyModel, type TinyProgram } from "../../../src/engine/tiny-model/tinyModel.js";
import { scratchPath, tinyModelPath } from "../../helpers/models.js";

const INDUCTION: TinyCopyRule = { query: " yields", marker: " gives", values: [" green", " blue", " red"] };
const CONTENT: TinyCopyRule = { query: " yields", values: [" green", " red"] };
const program = (copy: TinyCopyRule): TinyProgram => ({
  rules: [
    [" yields", " nothing"],
    ["Hello", " world"],
  ],
  copy,
});

const sessions: LlamaSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.dispose();
});

async function open(copy: TinyCopyRule): Promise<LlamaSession> {
  const session = await openLlama({
    modelPath: await tinyModelPath({ program: program(copy) }),
    gpu: "cpu",
    contextSize: 4096,
    sequences: 1,
  });
  sessions.push(session);
  return session;
}

/** The most likely next token's text and its probability. */
async function best(session: LlamaSession, logits: LogitsRef | undefined): Promise<[string, number]> {
  const top = await session.runtime.candidates(logits!, 1);
  return [session.tokenizer.tokenText(top.tokens[0]!), top.probabilities[0]!];
}

/** Plain decode of `texts` (one sequence from `start`) and the most likely next token. */
async function next(session: LlamaSession, texts: string[], start = 0): Promise<[string, number]> {
  const tokens = texts.flatMap((t) => session.tokenizer.tokenize(t, { special: true }));
  session.runtime.clear(0);
  const [logits] = await session.runtime.decode([
    { sequence: 0, firstPosition: start, tokens, logitIndex: tokens.length - 1 },
  ]);
  const result = await best(session, logits);
  session.runtime.clear(0);
  return result;
}

const PROMPT = "<|im_start|>system\nYou are a helpful assistant who likes colours.<|im_end|>\n";
const FILLER = " and so on, and so forth, for a while";

describe("a copy model with an induction head (previous-token head, then induction head)", () => {
  it("says the value that followed the marker, wherever the pair sits in the context", async () => {
    const s = await open(INDUCTION);
    for (const value of INDUCTION.values) {
      expect(await next(s, [PROMPT, ` gives${value}`, " so it", " yields"])).toEqual([
        value,
        expect.any(Number),
      ]);
      const [said, p] = await next(s, [PROMPT, ` gives${value}`, FILLER.repeat(20), " so it yields"]);
      expect([said, p > 0.999]).toEqual([value, true]);
    }
    // A long way in (RoPE makes every head depend on relative positions only).
    expect((await next(s, [PROMPT, " gives red", FILLER, " yields"], 3500))[0]).toBe(" red");
  });

  it("falls back to the table without a marker, or when the value does not follow it directly", async () => {
    const s = await open(INDUCTION);
    expect(await next(s, [PROMPT, " so it yields"])).toEqual([" nothing", expect.any(Number)]);
    expect((await next(s, [PROMPT, " gives a green one; it yields"]))[0]).toBe(" nothing");
    expect((await next(s, [PROMPT, " green it yields"]))[0]).toBe(" nothing");
    // Every other token follows the table, copy or not.
    expect((await next(s, [PROMPT, " gives green", " Hello"]))[0]).toBe(" world");
    expect((await next(s, [PROMPT, "Hello"]))[0]).toBe(" world");
  });

  it("keeps copying after the cells holding the pair are moved (keys re-rotated)", async () => {
    const s = await open(INDUCTION);
    const tokens = s.tokenizer.tokenize(`${PROMPT} gives blue${FILLER}`, { special: true });
    s.runtime.clear(0);
    await s.runtime.decode([{ sequence: 0, firstPosition: 0, tokens }]);
    // Everything after the prompt moves 700 positions up, as a block does when an earlier one grows.
    const promptLength = s.tokenizer.tokenize(PROMPT, { special: true }).length;
    s.runtime.shift(0, promptLength, tokens.length, 700);
    const query = s.tokenizer.tokenize(" yields");
    const [logits] = await s.runtime.decode([
      { sequence: 0, firstPosition: tokens.length + 700, tokens: query, logitIndex: 0 },
    ]);
    expect((await best(s, logits))[0]).toBe(" blue");
    s.runtime.clear(0);
  });

  /**
   * How Duet mirrors a thought into the writer's view on stock llama.cpp: decoded at the view's
   * end, after the writer's newest token, then rotated into the thoughts block. The text the
   * writer's view holds is the same either way; what differs is what each thought attended to when
   * it was decoded.
   */
  it("copies a pair mirrored in one piece, not one mirrored a token at a time after the writer's tokens", async () => {
    const s = await open(INDUCTION);
    const tok = (text: string): Token[] => s.tokenizer.tokenize(text, { special: true });
    async function writerSays(pieces: "one" | "two"): Promise<{ said: string; view: string }> {
      s.runtime.clear(0);
      const cache = new ViewCache(s.runtime);
      cache.setViews([{ id: "writer", blocks: ["prompt", "thoughts", "split", "answer"] }]);
      cache.extend("prompt", tok(`${PROMPT}<think>`));
      cache.extend("split", tok("</think>"));
      cache.extend("answer", tok("\n\nLet me see"));
      await cache.place(cache.backlog("writer").map((b) => ({ view: "writer", ...b })));
      const pair = tok(" gives green");
      if (pieces === "one") {
        cache.extend("answer", tok(",,"));
        cache.extend("thoughts", pair);
        await cache.place([
          { view: "writer", block: "answer", tokens: tok(",,"), logits: true },
          { view: "writer", block: "thoughts", tokens: pair },
        ]);
      } else {
        for (const thought of pair) {
          cache.extend("answer", tok(","));
          cache.extend("thoughts", [thought]);
          await cache.place([
            { view: "writer", block: "answer", tokens: tok(","), logits: true },
            { view: "writer", block: "thoughts", tokens: [thought] },
          ]);
        }
      }
      cache.extend("answer", tok(" yields"));
      const [logits] = await cache.place([
        { view: "writer", block: "answer", tokens: tok(" yields"), logits: true },
      ]);
      cache.verify();
      const view = s.tokenizer.detokenize(cache.viewTokens("writer"));
      const [said] = await best(s, logits);
      s.runtime.clear(0);
      return { said, view };
    }
    const one = await writerSays("one");
    const two = await writerSays("two");
    expect(one.view).toBe(two.view);
    expect(one.view).toContain("<think> gives green</think>");
    expect(one.said).toBe(" green");
    // " green" was decoded right after a writer token, so its previous-token head saw ",".
    expect(two.said).toBe(" nothing");
  });
});

describe("a copy model with a content head (no marker)", () => {
  it("says the value token in view, wherever it is, and the table's default without one", async () => {
    const s = await open(CONTENT);
    expect((await next(s, [PROMPT, " green", FILLER, " yields"]))[0]).toBe(" green");
    expect((await next(s, [" red", PROMPT, FILLER.repeat(10), " yields"]))[0]).toBe(" red");
    expect((await next(s, [PROMPT, " blue", FILLER, " yields"]))[0]).toBe(" nothing");
  });
});

describe("the copy model's construction", () => {
  it("separates the previous position clearly for common head sizes, RoPE bases and contexts", () => {
    for (const headDim of [64, 128])
      for (const base of [1e4, 1e6])
        for (const context of [4096, 40960]) {
          const head = previousTokenHead(headDim, base, context);
          expect(head.margin, `${headDim} ${base} ${context}`).toBeGreaterThan(0.12);
          expect(head.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        }
  });

  it("refuses rules it cannot build, in words", async () => {
    const path = scratchPath("copy-refused.gguf");
    await expect(writeTinyModel(path, { arch: "llama", program: program(INDUCTION) })).rejects.toThrow(
      /qwen3/,
    );
    await expect(writeTinyModel(path, { type: "q8_0", program: program(INDUCTION) })).rejects.toThrow(
      /f32 or f16/,
    );
    const many = Array.from({ length: 20 }, (_, i) => ` v${i}`);
    await expect(
      writeTinyModel(path, { headDim: 16, program: program({ ...INDUCTION, values: many }) }),
    ).rejects.toThrow(/at most 16 values/);
    await expect(
      writeTinyModel(path, { program: program({ ...INDUCTION, values: [" yields"] }) }),
    ).rejects.toThrow(/cannot be values/);
    await expect(
      writeTinyModel(path, { ropeFreqBase: 10_000, contextLength: 40960, program: program(INDUCTION) }),
    ).rejects.toThrow(/too small for a 40960-token context/);
  });
});
