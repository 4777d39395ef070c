/**
 * The view cache on its own (docs/method.md, "Positions"): every guard with bad input, the exact
 * boundaries of a full context, and the work it does (decodes, shift passes, cells moved), on the
 * scripted runtime that keeps positions exactly as llama.cpp does.
 */
import { describe, expect, it } from "vitest";
import type { CacheOperation } from "../../../src/shared/turnEvents.js";
import { ContextFullError, ViewCache } from "../../../src/engine/reasoning/viewCache.js";
import { FakeKvRuntime, FakeTokenizer, listScripts } from "../../helpers/fakeRuntime.js";

function cacheWith(contextSize = 64, sequences = 2) {
  const tokenizer = new FakeTokenizer();
  const runtime = new FakeKvRuntime(tokenizer, listScripts(tokenizer, {}), contextSize, sequences);
  const operations: CacheOperation[] = [];
  const cache = new ViewCache(runtime, (op) => operations.push(op));
  return { cache, runtime, operations };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Places every view's backlog. */
const placeAll = (cache: ViewCache) =>
  cache.place(cache.viewIds().flatMap((view) => cache.backlog(view).map((b) => ({ view, ...b }))));

describe("the view cache's guards", () => {
  it("refuses a placement that is not the block's next tokens, and decodes nothing", async () => {
    const { cache, runtime } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3]);
    await expect(cache.place([{ view: "v", block: "a", tokens: [1, 9] }])).rejects.toThrow(
      /Placement into v\/a does not match the block's content at 1/,
    );
    // Past the content's end is a mismatch too.
    await expect(cache.place([{ view: "v", block: "a", tokens: [1, 2, 3, 4] }])).rejects.toThrow(/at 3/);
    expect(runtime.decodes).toHaveLength(0);
    await cache.place([{ view: "v", block: "a", tokens: [1, 2] }]);
    // The next placement must continue after what the view holds.
    await expect(cache.place([{ view: "v", block: "a", tokens: [1] }])).rejects.toThrow(/at 2/);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 3]);
  });

  it("names unknown views and blocks, and refuses two logits placements in one view", async () => {
    const { cache } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await expect(cache.place([{ view: "w", block: "a", tokens: [1] }])).rejects.toThrow(/Unknown view w/);
    expect(() => cache.extend("zzz", [1])).toThrow(/Unknown block zzz/);
    expect(() => cache.blockStart("v", "zzz")).toThrow(/does not show block zzz/);
    await expect(
      cache.place([
        { view: "v", block: "a", tokens: [1], logits: true },
        { view: "v", block: "b", tokens: [2], logits: true },
      ]),
    ).rejects.toThrow(/Two logits placements in view v/);
  });

  it("refuses more views than sequences, and dropping a block a view still holds", async () => {
    const { cache } = cacheWith(64, 2);
    expect(() =>
      cache.setViews([
        { id: "a", blocks: ["x"] },
        { id: "b", blocks: ["x"] },
        { id: "c", blocks: ["x"] },
      ]),
    ).toThrow(/needs 3 sequences; the context has 2/);
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2]);
    await placeAll(cache);
    expect(() => cache.setViews([{ id: "v", blocks: ["b"] }])).toThrow(
      /still holds block a; remove it first/,
    );
    // Keeping the block keeps its cells; a new empty block may be added.
    cache.setViews([{ id: "v", blocks: ["a", "c"] }]);
    expect(cache.blockLength("v", "a")).toBe(2);
    cache.dropFromView("v", "a");
    cache.setViews([{ id: "v", blocks: ["c"] }]);
    expect(cache.length("v")).toBe(0);
  });

  it("merges only adjacent blocks, into one of them, keeping every cell", async () => {
    const { cache, runtime } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["h", "u", "a", "t"] }]);
    cache.extend("h", [1, 2]);
    cache.extend("u", [3]);
    cache.extend("a", [4, 5]);
    cache.extend("t", [6]);
    await placeAll(cache);
    expect(() => cache.mergeBlocks("v", ["h", "a"], "h")).toThrow(/not adjacent/);
    expect(() => cache.mergeBlocks("v", ["h", "u"], "a")).toThrow(/must be one of the merged blocks/);
    expect(() => cache.mergeBlocks("v", ["h", "nope"], "h")).toThrow(/not adjacent/);
    cache.mergeBlocks("v", ["h", "u", "a"], "h");
    expect(cache.blockLength("v", "h")).toBe(5);
    expect(cache.blockStart("v", "t")).toBe(5);
    expect(cache.hasBlock("v", "u")).toBe(false);
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 3, 4, 5, 6]);
    cache.verify();
  });

  it("notices a view whose cells disagree with its table", async () => {
    const { cache, runtime } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a"] }]);
    cache.extend("a", [1, 2, 3]);
    await placeAll(cache);
    cache.verify();
    runtime.remove(0, 2, 3);
    expect(() => cache.verify()).toThrow(/View v spans \[0, 1\] but its blocks hold 3 tokens/);
    // An empty view must hold no cells at all.
    const other = cacheWith();
    other.cache.setViews([{ id: "v", blocks: ["a"] }]);
    other.cache.verify();
    await other.runtime.decode([{ sequence: 0, firstPosition: 0, tokens: [7] }]);
    expect(() => other.cache.verify()).toThrow(/spans \[0, 0\] but its blocks hold 0 tokens/);
  });
});

describe("a full context, exactly", () => {
  it("takes placements that fill the last cell, and refuses one more with the numbers", async () => {
    const { cache } = cacheWith(10);
    cache.setViews([{ id: "v", blocks: ["a"] }]);
    cache.extend("a", range(1, 11));
    await cache.place([{ view: "v", block: "a", tokens: range(1, 10) }]);
    expect(cache.freeCells("v")).toBe(0);
    const error = await cache.place([{ view: "v", block: "a", tokens: [11] }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextFullError);
    expect(error).toMatchObject({ view: "v", needed: 1, available: 0, code: "context-overflow" });
  });

  it("asks a probe that fits exactly, and refuses one a token too long, leaving the view as it was", async () => {
    const { cache, runtime } = cacheWith(10);
    cache.setViews([{ id: "v", blocks: ["a"] }]);
    cache.extend("a", range(1, 6));
    await placeAll(cache);
    const before = runtime.orderedTokens(0);
    await cache.probe("v", range(50, 4), 2);
    expect(runtime.orderedTokens(0)).toEqual(before);
    const error = await cache.probe("v", range(50, 5), 2).catch((e: unknown) => e);
    expect(error).toMatchObject({ needed: 5, available: 4 });
    expect(runtime.orderedTokens(0)).toEqual(before);
  });
});

describe("the work the cache does", () => {
  it("counts one shift pass for the decode after a move, none for plain appends", async () => {
    const { cache, operations } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2]);
    cache.extend("b", [3, 4]);
    await placeAll(cache);
    expect(cache.shiftPasses).toBe(0);
    // Appending at the end moves nothing.
    cache.extend("b", [5]);
    await cache.place([{ view: "v", block: "b", tokens: [5], logits: true }]);
    expect(cache.shiftPasses).toBe(0);
    expect(operations.at(-1)).toMatchObject({ kind: "append", block: "b", tokens: 1, movedCells: 0 });
    // A token into the middle is decoded at the end and rotated into place: cells 2..4 move.
    cache.extend("a", [9]);
    await cache.place([{ view: "v", block: "a", tokens: [9] }]);
    expect(operations.at(-1)).toMatchObject({ kind: "insert", block: "a", tokens: 1, movedCells: 4 });
    // The rotation is paid by the next decode, once, however many moves waited.
    cache.extend("a", [10]);
    await cache.place([{ view: "v", block: "a", tokens: [10] }]);
    expect(cache.shiftPasses).toBe(1);
    cache.extend("b", [6]);
    await cache.place([{ view: "v", block: "b", tokens: [6], logits: true }]);
    expect(cache.shiftPasses).toBe(2);
    cache.extend("b", [7]);
    await cache.place([{ view: "v", block: "b", tokens: [7], logits: true }]);
    expect(cache.shiftPasses).toBe(2);
    cache.verify();
  });

  it("a removal in the middle costs a pass at the next decode; a removal at the end costs none", async () => {
    const { cache, operations } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3]);
    cache.extend("b", [4, 5]);
    await placeAll(cache);
    cache.truncateBlock("b", 1);
    expect(operations.at(-1)).toMatchObject({ kind: "remove", block: "b", tokens: 1, movedCells: 0 });
    cache.extend("b", [6]);
    await cache.place([{ view: "v", block: "b", tokens: [6] }]);
    expect(cache.shiftPasses).toBe(0);
    cache.removeRange("a", 0, 1);
    expect(operations.at(-1)).toMatchObject({ kind: "remove", block: "a", tokens: 1, movedCells: 4 });
    cache.extend("b", [7]);
    await cache.place([{ view: "v", block: "b", tokens: [7] }]);
    expect(cache.shiftPasses).toBe(1);
    cache.verify();
    expect(cache.viewTokens("v")).toEqual([2, 3, 4, 6, 7]);
  });

  it("removes a range from every view that holds it, and only what each view holds", async () => {
    const { cache, runtime } = cacheWith(64, 2);
    cache.setViews([
      { id: "x", blocks: ["h", "t"] },
      { id: "y", blocks: ["h", "u"] },
    ]);
    cache.extend("h", range(1, 8));
    cache.extend("t", [20]);
    cache.extend("u", [30]);
    // View y holds only the first five history tokens.
    await cache.place([
      { view: "x", block: "h", tokens: range(1, 8) },
      { view: "x", block: "t", tokens: [20] },
      { view: "y", block: "h", tokens: range(1, 5) },
    ]);
    // Drop history tokens 2..5 (four of them): y loses the three it holds past 2.
    cache.removeRange("h", 2, 4);
    expect(cache.tokens("h")).toEqual([1, 2, 7, 8]);
    expect(cache.blockLength("x", "h")).toBe(4);
    expect(cache.blockLength("y", "h")).toBe(2);
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 7, 8, 20]);
    expect(runtime.orderedTokens(1)).toEqual([1, 2]);
    // y can catch up on the rest of the history afterwards.
    await cache.place([{ view: "y", block: "h", tokens: [7, 8] }]);
    expect(runtime.orderedTokens(1)).toEqual([1, 2, 7, 8]);
    cache.verify();
    // Nothing to remove past the end, or zero tokens.
    cache.removeRange("h", 10, 3);
    cache.removeRange("h", 0, 0);
    expect(cache.tokens("h")).toEqual([1, 2, 7, 8]);
  });

  it("places each view's items in one decode, with mirrors rotated behind the own tokens", async () => {
    const { cache, runtime } = cacheWith(64, 2);
    cache.setViews([
      { id: "w", blocks: ["p", "thoughts", "answer"] },
      { id: "t", blocks: ["p", "thoughts"] },
    ]);
    cache.extend("p", [1, 2]);
    await placeAll(cache);
    const decodesBefore = runtime.decodes.length;
    cache.extend("thoughts", [10, 11]);
    cache.extend("answer", [20]);
    const refs = await cache.place([
      { view: "t", block: "thoughts", tokens: [10, 11], logits: true },
      { view: "w", block: "answer", tokens: [20], logits: true },
      { view: "w", block: "thoughts", tokens: [10, 11] },
    ]);
    expect(runtime.decodes.length - decodesBefore).toBe(1);
    expect(refs[0]).toBeDefined();
    expect(refs[1]).toBeDefined();
    expect(refs[2]).toBeUndefined();
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 10, 11, 20]);
    expect(runtime.orderedTokens(1)).toEqual([1, 2, 10, 11]);
    cache.verify();
  });
});
