/**
 * The view cache on its own (docs/method.md, "Positions"): every guard with bad input, the exact
 * boundaries of a full context, and the work it does (decodes, shift passes, cells moved), on the
 * scripted runtime that keeps positions exactly as llama.cpp does.
 */
import { describe, expect, it } from "vitest";
import type { CacheOperation } from "../../../src/shared/turnEvents.js";
import {
  ContextFullError,
  ViewCache,
  type ViewCacheOptions,
} from "../../../src/engine/reasoning/viewCache.js";
import { FakeKvRuntime, FakeTokenizer, listScripts } from "../../helpers/fakeRuntime.js";

/** Duet's patched llama.cpp: decodes into gaps and copies cells between sequences. */
const PATCHED = { gapDecode: true, kvCopy: true };

function cacheWith(contextSize = 64, sequences = 2, options: ViewCacheOptions = {}) {
  const tokenizer = new FakeTokenizer();
  const runtime = new FakeKvRuntime(tokenizer, listScripts(tokenizer, {}), contextSize, sequences);
  if (options.strategy && options.strategy !== "rotate") runtime.capabilities = PATCHED;
  const operations: CacheOperation[] = [];
  const cache = new ViewCache(runtime, (op) => operations.push(op), options);
  return { cache, runtime, operations };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** A refusal: the error's code for programs, its words for people. */
const refused = (code: string, words: RegExp | string) =>
  expect.objectContaining({
    code,
    message: typeof words === "string" ? words : expect.stringMatching(words),
  });
const badInput = (words: RegExp | string) => refused("invalid-argument", words);

/** Places every view's backlog. */
const placeAll = (cache: ViewCache) =>
  cache.place(cache.viewIds().flatMap((view) => cache.backlog(view).map((b) => ({ view, ...b }))));

describe("the view cache's guards", () => {
  it("refuses a placement that is not the block's next tokens, and decodes nothing", async () => {
    const { cache, runtime } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3]);
    await expect(cache.place([{ view: "v", block: "a", tokens: [1, 9] }])).rejects.toEqual(
      badInput("Placement into v/a does not match the block's content at 1."),
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
    await expect(cache.place([{ view: "w", block: "a", tokens: [1] }])).rejects.toEqual(
      badInput("Unknown view w."),
    );
    expect(() => cache.extend("zzz", [1])).toThrow(badInput("Unknown block zzz."));
    expect(() => cache.blockStart("v", "zzz")).toThrow(badInput("View v does not show block zzz."));
    await expect(
      cache.place([
        { view: "v", block: "a", tokens: [1], logits: true },
        { view: "v", block: "b", tokens: [2], logits: true },
      ]),
    ).rejects.toEqual(badInput("Two logits placements in view v."));
  });

  it("refuses more views than sequences, and dropping a block a view still holds", async () => {
    const { cache } = cacheWith(64, 2);
    expect(() =>
      cache.setViews([
        { id: "a", blocks: ["x"] },
        { id: "b", blocks: ["x"] },
        { id: "c", blocks: ["x"] },
      ]),
    ).toThrow(badInput("The layout needs 3 sequences; the context has 2."));
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2]);
    await placeAll(cache);
    expect(() => cache.setViews([{ id: "v", blocks: ["b"] }])).toThrow(
      badInput("View v still holds block a; remove it first."),
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
    expect(() => cache.mergeBlocks("v", ["h", "a"], "h")).toThrow(
      badInput("Blocks h, a are not adjacent in view v."),
    );
    expect(() => cache.mergeBlocks("v", ["u", "h"], "h")).toThrow(badInput(/not adjacent/));
    expect(() => cache.mergeBlocks("v", ["h", "u"], "a")).toThrow(
      badInput("a must be one of the merged blocks."),
    );
    expect(() => cache.mergeBlocks("v", ["h", "nope"], "h")).toThrow(badInput(/not adjacent/));
    expect(() => cache.mergeBlocks("v", ["nope", "h"], "h")).toThrow(badInput(/not adjacent/));
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
    expect(() => cache.verify()).toThrow(
      refused("adapter-incompatible", "View v spans [0, 1] but its blocks hold 3 tokens at [0, 2]."),
    );
    // An empty view must hold no cells at all.
    const other = cacheWith();
    other.cache.setViews([{ id: "v", blocks: ["a"] }]);
    other.cache.verify();
    await other.runtime.decode([{ sequence: 0, firstPosition: 0, tokens: [7] }]);
    expect(() => other.cache.verify()).toThrow(
      refused("adapter-incompatible", "View v spans [0, 0] but its blocks hold 0 tokens."),
    );
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
    expect(error).toMatchObject({
      view: "v",
      needed: 1,
      available: 0,
      code: "context-overflow",
      message: "The v view needs 1 more cells but only 0 are free.",
    });
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
    // The writer's logits are read after its own token, before the mirrored thoughts behind it.
    expect(runtime.decodes.at(-1)).toEqual([
      { sequence: 1, firstPosition: 2, tokens: [10, 11], logitIndex: 1 },
      { sequence: 0, firstPosition: 2, tokens: [20, 10, 11], logitIndex: 0 },
    ]);
    expect(refs[0]).toBeDefined();
    expect(refs[1]).toBeDefined();
    expect(refs[2]).toBeUndefined();
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 10, 11, 20]);
    expect(runtime.orderedTokens(1)).toEqual([1, 2, 10, 11]);
    cache.verify();
  });
});

/** The runtime's cells of a view's sequence are exactly its table: each held token at its position. */
function expectTable(cache: ViewCache, runtime: FakeKvRuntime, view: string, sequence: number) {
  const positions = cache.viewPositions(view);
  const tokens = cache.viewTokens(view);
  expect(runtime.cellsByPosition(sequence)).toEqual(positions.map((position, i) => [position, tokens[i]]));
}

const gapCache = (contextSize = 64, sequences = 2) =>
  cacheWith(contextSize, sequences, { strategy: "gap", gapTokens: 4 });
const copyCache = (contextSize = 64, sequences = 2) =>
  cacheWith(contextSize, sequences, { strategy: "copy", gapTokens: 4 });

describe("choosing a strategy", () => {
  it("picks gaps wherever the runtime decodes into them (copies only on request), rotation otherwise", () => {
    const best = (gapDecode: boolean, kvCopy: boolean) =>
      ViewCache.bestStrategy({ capabilities: { gapDecode, kvCopy } });
    expect(best(true, true)).toBe("gap");
    expect(best(true, false)).toBe("gap");
    expect(best(false, true)).toBe("rotate");
    expect(best(false, false)).toBe("rotate");
  });

  it("refuses a strategy the runtime cannot do, and a gap size that is not a positive integer", () => {
    const tokenizer = new FakeTokenizer();
    const runtime = new FakeKvRuntime(tokenizer, listScripts(tokenizer, {}));
    expect(new ViewCache(runtime).strategy).toBe("rotate");
    expect(() => new ViewCache(runtime, undefined, { strategy: "gap" })).toThrow(
      refused("unsupported-operation", /cannot decode into gaps/),
    );
    runtime.capabilities = { gapDecode: true, kvCopy: false };
    expect(() => new ViewCache(runtime, undefined, { strategy: "copy" })).toThrow(
      refused("unsupported-operation", /cannot copy cells/),
    );
    expect(new ViewCache(runtime, undefined, { strategy: "gap" }).strategy).toBe("gap");
    for (const gapTokens of [0, -1, 1.5, Number.NaN])
      expect(() => new ViewCache(runtime, undefined, { strategy: "gap", gapTokens })).toThrow(
        badInput("gapTokens must be a positive integer."),
      );
    expect(new ViewCache(runtime, undefined, { strategy: "gap", gapTokens: 1 }).strategy).toBe("gap");
  });
});

describe.each([["rotate"], ["gap"], ["copy"]] as const)("placing by %s", (strategy) => {
  const make = (contextSize = 64) => cacheWith(contextSize, 2, { strategy, gapTokens: 4 });

  it("takes the placements of one view in any order", async () => {
    const { cache, runtime } = make();
    cache.setViews([{ id: "v", blocks: ["a", "b", "c"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    cache.extend("c", [3]);
    await cache.place([
      { view: "v", block: "c", tokens: [3] },
      { view: "v", block: "b", tokens: [2] },
      { view: "v", block: "a", tokens: [1] },
    ]);
    expect(cache.viewTokens("v")).toEqual([1, 2, 3]);
    expect(runtime.decodes).toHaveLength(1);
    expectTable(cache, runtime, "v", 0);
    cache.verify();
  });

  it("ignores empty placements, and decodes nothing for them", async () => {
    const { cache, runtime } = make();
    cache.setViews([{ id: "v", blocks: ["a"] }]);
    expect(await cache.place([])).toEqual([]);
    expect(await cache.place([{ view: "ghost", block: "a", tokens: [] }])).toEqual([undefined]);
    expect(runtime.decodes).toHaveLength(0);
  });

  it("counts every placement of a view against its free cells, and each view on its own", async () => {
    const { cache, runtime } = make(4);
    cache.setViews([
      { id: "v", blocks: ["a", "b"] },
      { id: "w", blocks: ["a", "b"] },
    ]);
    cache.extend("a", [1, 2, 3]);
    cache.extend("b", [4, 5]);
    const error = await cache
      .place([
        { view: "v", block: "a", tokens: [1, 2, 3] },
        { view: "v", block: "b", tokens: [4, 5] },
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ view: "v", needed: 5, available: 4 });
    expect(runtime.decodes).toHaveLength(0);
    await cache.place([
      { view: "v", block: "a", tokens: [1, 2, 3] },
      { view: "v", block: "b", tokens: [4] },
      { view: "w", block: "a", tokens: [1, 2, 3] },
      { view: "w", block: "b", tokens: [4] },
    ]);
    expect(cache.freeCells("v")).toBe(0);
    expect(cache.freeCells("w")).toBe(0);
    expect(runtime.orderedTokens(1)).toEqual([1, 2, 3, 4]);
  });

  it("takes two placements of one block in one batch one after the other, and refuses a repeat", async () => {
    const { cache, runtime } = make();
    cache.setViews([
      { id: "v", blocks: ["a"] },
      { id: "w", blocks: ["b"] },
    ]);
    cache.extend("a", [1, 2, 3]);
    cache.extend("b", [7]);
    await cache.place([
      { view: "v", block: "a", tokens: [1] },
      { view: "v", block: "a", tokens: [2] },
    ]);
    expect(runtime.orderedTokens(0)).toEqual([1, 2]);
    await expect(
      cache.place([
        { view: "v", block: "a", tokens: [3] },
        { view: "v", block: "a", tokens: [3] },
      ]),
    ).rejects.toEqual(badInput(/does not match the block's content at 3/));
    // A block another view shows is still not this view's.
    await expect(cache.place([{ view: "v", block: "b", tokens: [7] }])).rejects.toEqual(
      badInput("View v does not show block b."),
    );
    expect(runtime.decodes).toHaveLength(1);
  });

  it("hands back logits for the placements that asked, each from its own view's decode", async () => {
    const { cache, runtime } = make();
    cache.setViews([
      { id: "w", blocks: ["p", "th", "ans"] },
      { id: "t", blocks: ["p", "th"] },
    ]);
    cache.setSources({ th: "t", ans: "w" });
    cache.extend("p", [1, 2]);
    await placeAll(cache);
    cache.extend("ans", [20]);
    await cache.place([{ view: "w", block: "ans", tokens: [20], logits: true }]);
    cache.extend("th", [10, 11]);
    cache.extend("ans", [21]);
    const refs = await cache.place([
      { view: "w", block: "th", tokens: [10, 11] },
      { view: "w", block: "ans", tokens: [21], logits: true },
      { view: "t", block: "th", tokens: [10, 11], logits: true },
    ]);
    expect(refs[0]).toBeUndefined();
    const batch = runtime.decodes.at(-1)!;
    const writer = batch[refs[1]!.index]!;
    expect(writer.sequence).toBe(0);
    expect(writer.tokens[writer.logitIndex!]).toBe(21);
    const thinker = batch[refs[2]!.index]!;
    expect(thinker.sequence).toBe(1);
    expect(thinker.tokens[thinker.logitIndex!]).toBe(11);
    expect(cache.viewTokens("w")).toEqual([1, 2, 10, 11, 20, 21]);
    // The writer's view comes first in the batch, yet copies what the thinker decodes in it.
    if (strategy === "copy")
      expect(runtime.copies).toEqual([[{ from: 1, to: 0, start: 2, end: 4, delta: 0 }]]);
    else expect(runtime.copies).toHaveLength(0);
    expectTable(cache, runtime, "w", 0);
    expectTable(cache, runtime, "t", 1);
  });

  it("asks a probe right after the view's last cell, and leaves every cell as it was", async () => {
    const { cache, runtime, operations } = make(10);
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    const before = runtime.cellsByPosition(0);
    const last = before.at(-1)![0];
    const answer = await cache.probe("v", range(50, 7), 2);
    expect(answer.probabilities).toEqual([0.7, 0.2]);
    expect(runtime.decodes.at(-1)).toEqual([
      { sequence: 0, firstPosition: last + 1, tokens: range(50, 7), logitIndex: 6 },
    ]);
    expect(runtime.cellsByPosition(0)).toEqual(before);
    expect(operations.at(-1)).toEqual({
      kind: "probe",
      view: "v",
      block: "(question)",
      tokens: 7,
      movedCells: 0,
    });
    const decodes = runtime.decodes.length;
    await expect(cache.probe("v", range(50, 8), 2)).rejects.toMatchObject({ needed: 8, available: 7 });
    expect(runtime.decodes).toHaveLength(decodes);
    // With the last block emptied, the question follows the last cell still held.
    cache.truncateBlock("b", 0);
    await cache.probe("v", [50], 2);
    expect(runtime.decodes.at(-1)![0]!.firstPosition).toBe(2);
    expect(runtime.cellsByPosition(0)).toEqual([
      [0, 1],
      [1, 3],
    ]);
  });
});

describe("placing into gaps (Duet's llama.cpp)", () => {
  it("decodes into a gap after a middle block, reopens it only when full, and counts each K-shift", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2]);
    cache.extend("b", [3]);
    await placeAll(cache);
    expect(runtime.decodes).toHaveLength(1);
    expect(runtime.cellsByPosition(0)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    // No room after a: a gap of the token plus 4 opens, and b moves up once.
    cache.extend("a", [4]);
    await cache.place([{ view: "v", block: "a", tokens: [4] }]);
    expect(operations.slice(-2)).toEqual([
      { kind: "gap", view: "v", block: "a", tokens: 5, movedCells: 1 },
      { kind: "insert", view: "v", block: "a", tokens: 1, movedCells: 0 },
    ]);
    expect(runtime.decodes.at(-1)).toEqual([{ sequence: 0, firstPosition: 2, tokens: [4] }]);
    expect(cache.gapAfter("v", "a")).toBe(4);
    expect(cache.blockStart("v", "b")).toBe(7);
    expect(cache.shiftPasses).toBe(1);
    expectTable(cache, runtime, "v", 0);
    // Filling the gap exactly moves nothing.
    cache.extend("a", [5, 6, 7, 8]);
    await cache.place([{ view: "v", block: "a", tokens: [5, 6, 7, 8] }]);
    expect(operations.at(-1)).toEqual({ kind: "insert", view: "v", block: "a", tokens: 4, movedCells: 0 });
    expect(cache.gapAfter("v", "a")).toBe(0);
    expect(cache.shiftPasses).toBe(1);
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 4, 5, 6, 7, 8, 3]);
    // A full gap is reopened, with one more K-shift.
    cache.extend("a", [9]);
    await cache.place([{ view: "v", block: "a", tokens: [9] }]);
    expect(operations.at(-2)).toEqual({ kind: "gap", view: "v", block: "a", tokens: 5, movedCells: 1 });
    expect(cache.shiftPasses).toBe(2);
    expect(cache.blockStart("v", "b")).toBe(12);
    // The last block's tokens are plain appends: no gap, no move.
    cache.extend("b", [10]);
    const [ref] = await cache.place([{ view: "v", block: "b", tokens: [10], logits: true }]);
    expect(ref).toBeDefined();
    expect(runtime.decodes.at(-1)).toEqual([{ sequence: 0, firstPosition: 13, tokens: [10], logitIndex: 0 }]);
    expect(operations.at(-1)).toEqual({ kind: "append", view: "v", block: "b", tokens: 1, movedCells: 0 });
    expect(cache.gapAfter("v", "b")).toBe(0);
    expect(cache.shiftPasses).toBe(2);
    expect(cache.viewPositions("v")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 12, 13]);
    expectTable(cache, runtime, "v", 0);
    cache.verify();
  });

  it("counts the cells a gap moves, not the positions, across later blocks and their gaps", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b", "c"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2, 3]);
    cache.extend("c", [4]);
    await placeAll(cache);
    cache.extend("b", [5]);
    await cache.place([{ view: "v", block: "b", tokens: [5] }]);
    expect(operations.at(-2)).toEqual({ kind: "gap", view: "v", block: "b", tokens: 5, movedCells: 1 });
    cache.extend("a", [6]);
    await cache.place([{ view: "v", block: "a", tokens: [6] }]);
    expect(operations.at(-2)).toEqual({ kind: "gap", view: "v", block: "a", tokens: 5, movedCells: 4 });
    expect(runtime.cellsByPosition(0)).toEqual([
      [0, 1],
      [1, 6],
      [6, 2],
      [7, 3],
      [8, 5],
      [13, 4],
    ]);
    expect(cache.blockStart("v", "c")).toBe(13);
    expect(cache.length("v")).toBe(6);
    expect(cache.shiftPasses).toBe(2);
    // b fills its gap, then reopens it behind a's: only c moves.
    cache.extend("b", [7, 8, 9, 10, 11]);
    await cache.place([{ view: "v", block: "b", tokens: [7, 8, 9, 10] }]);
    await cache.place([{ view: "v", block: "b", tokens: [11] }]);
    expect(operations.at(-2)).toEqual({ kind: "gap", view: "v", block: "b", tokens: 5, movedCells: 1 });
    expectTable(cache, runtime, "v", 0);
    cache.verify();
  });

  it("opens one gap for all of a batch's tokens into one block", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3, 4]);
    const count = operations.length;
    await cache.place([
      { view: "v", block: "a", tokens: [3] },
      { view: "v", block: "a", tokens: [4] },
    ]);
    expect(operations.slice(count).filter((op) => op.kind === "gap")).toEqual([
      { kind: "gap", view: "v", block: "a", tokens: 6, movedCells: 1 },
    ]);
    expect(runtime.decodes.at(-1)).toEqual([
      { sequence: 0, firstPosition: 1, tokens: [3] },
      { sequence: 0, firstPosition: 2, tokens: [4] },
    ]);
    expect(cache.gapAfter("v", "a")).toBe(4);
    expect(cache.shiftPasses).toBe(1);
    expectTable(cache, runtime, "v", 0);
  });

  it("grows a gap too small for a batch by what is missing, plus the gap size", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3, 4, 5, 6, 7, 8, 9, 10]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    await cache.place([{ view: "v", block: "a", tokens: [4] }]);
    // 3 free positions are left; 6 tokens need 3 more, and the gap is opened 4 wider than that.
    expect(cache.gapAfter("v", "a")).toBe(3);
    await cache.place([{ view: "v", block: "a", tokens: [5, 6, 7, 8, 9, 10] }]);
    expect(operations.at(-2)).toEqual({ kind: "gap", view: "v", block: "a", tokens: 7, movedCells: 1 });
    expect(cache.gapAfter("v", "a")).toBe(4);
    expect(cache.blockStart("v", "b")).toBe(13);
    expect(cache.shiftPasses).toBe(2);
    expectTable(cache, runtime, "v", 0);
  });

  it("opens gaps of 64 by default", async () => {
    const { cache, operations } = cacheWith(256, 2, { strategy: "gap" });
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    expect(operations.at(-2)).toMatchObject({ kind: "gap", tokens: 65 });
    expect(cache.blockStart("v", "b")).toBe(66);
  });

  it("turns a removal at the end of a middle block into gap, and moves the tail for any other", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3]);
    cache.extend("b", [4]);
    await placeAll(cache);
    cache.truncateBlock("a", 1);
    expect(operations.at(-1)).toEqual({ kind: "remove", view: "v", block: "a", tokens: 2, movedCells: 0 });
    expect(cache.gapAfter("v", "a")).toBe(2);
    expect(cache.blockStart("v", "b")).toBe(3);
    expect(cache.tokens("a")).toEqual([1]);
    expectTable(cache, runtime, "v", 0);
    // The freed positions take new tokens without a move.
    cache.extend("a", [7]);
    await cache.place([{ view: "v", block: "a", tokens: [7] }]);
    expect(operations.filter((op) => op.kind === "gap")).toHaveLength(0);
    expect(cache.shiftPasses).toBe(0);
    // A removal from the front of a block moves the rest of the view down.
    cache.removeRange("a", 0, 1);
    expect(operations.at(-1)).toEqual({ kind: "remove", view: "v", block: "a", tokens: 1, movedCells: 2 });
    expect(runtime.cellsByPosition(0)).toEqual([
      [0, 7],
      [2, 4],
    ]);
    expect(cache.gapAfter("v", "a")).toBe(1);
    cache.extend("b", [8]);
    await cache.place([{ view: "v", block: "b", tokens: [8] }]);
    expect(cache.shiftPasses).toBe(1);
    // A removal at the view's end moves nothing and leaves no gap.
    cache.truncateBlock("b", 1);
    expect(operations.at(-1)).toEqual({ kind: "remove", view: "v", block: "b", tokens: 1, movedCells: 0 });
    expect(cache.gapAfter("v", "b")).toBe(0);
    cache.extend("b", [9]);
    await cache.place([{ view: "v", block: "b", tokens: [9] }]);
    expect(cache.shiftPasses).toBe(1);
    expectTable(cache, runtime, "v", 0);
    cache.verify();
  });

  it("counts the cells after a removal from the middle of a block", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3, 4]);
    cache.extend("b", [5]);
    await placeAll(cache);
    cache.removeRange("a", 1, 1);
    expect(operations.at(-1)).toEqual({ kind: "remove", view: "v", block: "a", tokens: 1, movedCells: 3 });
    expect(runtime.orderedTokens(0)).toEqual([1, 3, 4, 5]);
    cache.verify();
    // The same in a block further into the view.
    cache.setViews([{ id: "v", blocks: ["a", "b", "c"] }]);
    cache.extend("b", [6, 7, 8]);
    cache.extend("c", [9]);
    await placeAll(cache);
    cache.removeRange("b", 1, 1);
    expect(operations.at(-1)).toEqual({ kind: "remove", view: "v", block: "b", tokens: 1, movedCells: 3 });
    expect(runtime.orderedTokens(0)).toEqual([1, 3, 4, 5, 7, 8, 9]);
    cache.verify();
  });

  it("keeps an emptied middle block's positions as a gap until the block is dropped", async () => {
    const { cache, runtime, operations } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3]);
    cache.extend("b", [4]);
    await placeAll(cache);
    cache.removeRange("a", 0, 3);
    expect(cache.blockLength("v", "a")).toBe(0);
    expect(cache.gapAfter("v", "a")).toBe(3);
    expect(() => cache.setViews([{ id: "v", blocks: ["b"] }])).toThrow(badInput(/still holds block a/));
    const count = operations.length;
    cache.dropFromView("v", "a");
    expect(operations).toHaveLength(count);
    expect(cache.gapAfter("v", "a")).toBe(0);
    expect(runtime.cellsByPosition(0)).toEqual([[0, 4]]);
    cache.setViews([{ id: "v", blocks: ["b"] }]);
    expect(cache.hasBlock("v", "a")).toBe(false);
    cache.extend("b", [5]);
    await cache.place([{ view: "v", block: "b", tokens: [5] }]);
    expect(runtime.decodes.at(-1)![0]!.firstPosition).toBe(1);
    expect(cache.shiftPasses).toBe(1);
  });

  it("keeps gaps and lengths when the views are declared again", async () => {
    const { cache } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    cache.setViews([{ id: "v", blocks: ["a", "b", "c"] }]);
    expect(cache.gapAfter("v", "a")).toBe(4);
    expect(cache.blockLength("v", "a")).toBe(2);
    expect(cache.tokens("a")).toEqual([1, 3]);
    expect(cache.blockStart("v", "c")).toBe(7);
    cache.verify();
  });

  it("closes every gap before a merge, with one K-shift, and refuses to merge across a gap", async () => {
    const { cache, runtime } = gapCache();
    cache.setViews([{ id: "v", blocks: ["h", "u", "a", "t"] }]);
    cache.extend("h", [1, 2]);
    cache.extend("u", [3]);
    cache.extend("a", [4, 5]);
    cache.extend("t", [6]);
    await placeAll(cache);
    cache.extend("h", [7]);
    await cache.place([{ view: "v", block: "h", tokens: [7] }]);
    cache.extend("u", [8]);
    await cache.place([{ view: "v", block: "u", tokens: [8] }]);
    expect(cache.shiftPasses).toBe(2);
    expect(() => cache.mergeBlocks("v", ["h", "u", "a"], "h")).toThrow(
      badInput("Blocks h, u, a have gaps between them; close them first."),
    );
    expect(() => cache.mergeBlocks("v", ["u", "a"], "u")).toThrow(badInput(/have gaps between them/));
    cache.closeGaps();
    expect(["h", "u", "a", "t"].map((b) => cache.gapAfter("v", b))).toEqual([0, 0, 0, 0]);
    expect(runtime.orderedTokens(0)).toEqual([1, 2, 7, 3, 8, 4, 5, 6]);
    cache.mergeBlocks("v", ["h", "u", "a"], "h");
    cache.setContent("h", [1, 2, 7, 3, 8, 4, 5]);
    expect(cache.blockLength("v", "h")).toBe(7);
    expect(cache.blockStart("v", "t")).toBe(7);
    expect(cache.viewTokens("v")).toEqual([1, 2, 7, 3, 8, 4, 5, 6]);
    expect(cache.backlog("v")).toEqual([]);
    cache.verify();
    cache.extend("t", [9]);
    await cache.place([{ view: "v", block: "t", tokens: [9] }]);
    expect(runtime.decodes.at(-1)![0]!.firstPosition).toBe(8);
    expect(cache.shiftPasses).toBe(3);
  });

  it("closes a gap smaller than its block's cells without touching them", async () => {
    const { cache, runtime } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3, 4, 5, 6]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    await cache.place([{ view: "v", block: "a", tokens: [4, 5, 6] }]);
    expect(cache.gapAfter("v", "a")).toBe(1);
    cache.closeGaps();
    expect(runtime.orderedTokens(0)).toEqual([1, 3, 4, 5, 6, 2]);
    expectTable(cache, runtime, "v", 0);
  });

  it("merges blocks whose last one has a gap, keeping that gap after the merged block", async () => {
    const { cache, runtime } = gapCache();
    cache.setViews([{ id: "v", blocks: ["h", "u", "t"] }]);
    cache.extend("h", [1]);
    cache.extend("u", [2]);
    cache.extend("t", [3]);
    await placeAll(cache);
    cache.extend("u", [4]);
    await cache.place([{ view: "v", block: "u", tokens: [4] }]);
    expect(() => cache.mergeBlocks("v", ["h", "u", "t"], "h")).toThrow(badInput(/have gaps between them/));
    cache.mergeBlocks("v", ["h", "u"], "h");
    cache.setContent("h", [1, 2, 4]);
    expect(cache.hasBlock("v", "u")).toBe(false);
    expect(cache.blockLength("v", "h")).toBe(3);
    expect(cache.gapAfter("v", "h")).toBe(4);
    expect(cache.blockStart("v", "t")).toBe(7);
    expectTable(cache, runtime, "v", 0);
    cache.verify();
    // The kept gap takes the merged block's next tokens without a move.
    cache.extend("h", [5]);
    await cache.place([{ view: "v", block: "h", tokens: [5] }]);
    expect(cache.shiftPasses).toBe(1);
    expect(cache.gapAfter("v", "h")).toBe(3);
    expectTable(cache, runtime, "v", 0);
  });

  it("closes a gap with nothing after it without moving anything", async () => {
    const { cache, runtime } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    expect(cache.shiftPasses).toBe(1);
    cache.truncateBlock("b", 0);
    cache.closeGaps();
    expect(cache.gapAfter("v", "a")).toBe(0);
    cache.extend("a", [4]);
    await cache.place([{ view: "v", block: "a", tokens: [4] }]);
    expect(cache.shiftPasses).toBe(1);
    expect(runtime.orderedTokens(0)).toEqual([1, 3, 4]);
  });

  it("verifies views with gaps, and notices a lost first or last cell", async () => {
    const { cache, runtime } = gapCache();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.extend("a", [3]);
    await cache.place([{ view: "v", block: "a", tokens: [3] }]);
    cache.verify();
    runtime.remove(0, 0, 1);
    expect(() => cache.verify()).toThrow("View v spans [1, 6] but its blocks hold 3 tokens at [0, 6].");
    const other = gapCache();
    other.cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    other.cache.extend("a", [1]);
    other.cache.extend("b", [2]);
    await placeAll(other.cache);
    other.runtime.remove(0, 1, 2);
    expect(() => other.cache.verify()).toThrow("View v spans [0, 0] but its blocks hold 2 tokens at [0, 1].");
  });
});

describe("copying cells between views (Duet's llama.cpp)", () => {
  /** The writer's view shows the thinker's thoughts between its prompt and its answer. */
  async function twoStreams() {
    const setup = copyCache();
    const { cache } = setup;
    cache.setViews([
      { id: "w", blocks: ["p", "x", "th", "ans"] },
      { id: "t", blocks: ["p", "th"] },
    ]);
    cache.setSources({ th: "t", ans: "w" });
    cache.extend("p", [1, 2]);
    cache.extend("x", [5]);
    await placeAll(cache);
    cache.extend("ans", [20]);
    await cache.place([{ view: "w", block: "ans", tokens: [20], logits: true }]);
    return setup;
  }

  it("copies a stream's output from the view that computed it instead of decoding it again", async () => {
    const { cache, runtime, operations } = await twoStreams();
    expect(runtime.copies).toHaveLength(0);
    cache.extend("th", [10, 11]);
    const refs = await cache.place([
      { view: "t", block: "th", tokens: [10, 11], logits: true },
      { view: "w", block: "th", tokens: [10, 11] },
    ]);
    expect(refs[0]).toBeDefined();
    expect(refs[1]).toBeUndefined();
    expect(runtime.decodes.at(-1)).toEqual([
      { sequence: 1, firstPosition: 2, tokens: [10, 11], logitIndex: 1 },
    ]);
    expect(runtime.copies.at(-1)).toEqual([{ from: 1, to: 0, start: 2, end: 4, delta: 1 }]);
    expect(cache.copiedCells).toBe(2);
    expect(operations.slice(-3)).toEqual([
      { kind: "gap", view: "w", block: "th", tokens: 6, movedCells: 1 },
      { kind: "append", view: "t", block: "th", tokens: 2, movedCells: 0 },
      { kind: "copy", view: "w", block: "th", tokens: 2, movedCells: 0 },
    ]);
    expect(cache.shiftPasses).toBe(1);
    expectTable(cache, runtime, "w", 0);
    expectTable(cache, runtime, "t", 1);
    cache.verify();
  });

  it("copies only cells the source view holds or decodes in the same batch; the rest is decoded", async () => {
    const { cache, runtime } = await twoStreams();
    cache.extend("th", [10, 11]);
    await cache.place([{ view: "t", block: "th", tokens: [10, 11] }]);
    // The thinker has computed 10 and 11 only: 12 and 13 are decoded in the writer's view.
    cache.extend("th", [12, 13]);
    await cache.place([
      { view: "t", block: "th", tokens: [12], logits: true },
      { view: "w", block: "th", tokens: [10, 11, 12, 13] },
    ]);
    expect(runtime.copies).toHaveLength(0);
    expect(runtime.decodes.at(-1)!.map((item) => item.sequence)).toEqual([1, 0]);
    // Exactly what the thinker will hold after this batch: copied.
    cache.extend("th", [14]);
    await cache.place([
      { view: "t", block: "th", tokens: [13, 14], logits: true },
      { view: "w", block: "th", tokens: [14] },
    ]);
    expect(runtime.copies.at(-1)).toEqual([{ from: 1, to: 0, start: 6, end: 7, delta: 1 }]);
    // What the thinker already holds: copied, with no decode at all.
    cache.extend("th", [15]);
    await cache.place([{ view: "t", block: "th", tokens: [15] }]);
    const decodes = runtime.decodes.length;
    const passes = cache.shiftPasses;
    expect(await cache.place([{ view: "w", block: "th", tokens: [15] }])).toEqual([undefined]);
    expect(runtime.decodes).toHaveLength(decodes);
    expect(runtime.copies.at(-1)).toEqual([{ from: 1, to: 0, start: 7, end: 8, delta: 1 }]);
    expect(cache.shiftPasses).toBe(passes);
    expect(cache.copiedCells).toBe(2);
    expect(cache.viewTokens("w")).toEqual([1, 2, 5, 10, 11, 12, 13, 14, 15, 20]);
    expectTable(cache, runtime, "w", 0);
    expectTable(cache, runtime, "t", 1);
  });

  it("decodes what needs logits, what has no source, and what its source view cannot give", async () => {
    const { cache, runtime } = copyCache();
    cache.setViews([
      { id: "w", blocks: ["p", "th"] },
      { id: "t", blocks: ["p", "th"] },
    ]);
    cache.setSources({ th: "t" });
    cache.extend("p", [1]);
    await placeAll(cache);
    cache.extend("th", [10]);
    await cache.place([{ view: "t", block: "th", tokens: [10] }]);
    await cache.place([{ view: "w", block: "th", tokens: [10], logits: true }]);
    cache.setSources({ th: "ghost" });
    cache.extend("th", [11]);
    await cache.place([{ view: "t", block: "th", tokens: [11] }]);
    await cache.place([{ view: "w", block: "th", tokens: [11] }]);
    cache.setSources({ th: "t" });
    cache.setSources({});
    cache.extend("th", [12]);
    await cache.place([{ view: "t", block: "th", tokens: [12] }]);
    await cache.place([{ view: "w", block: "th", tokens: [12] }]);
    expect(runtime.copies).toHaveLength(0);
    expect(cache.copiedCells).toBe(0);
    expect(runtime.decodes).toHaveLength(7);
    expect(runtime.orderedTokens(0)).toEqual([1, 10, 11, 12]);
  });
});

describe("the view cache's bookkeeping", () => {
  it("lists the views, each view's backlog in reading order, and what it holds", async () => {
    const { cache } = cacheWith(32);
    expect(cache.contextSize).toBe(32);
    cache.setViews([
      { id: "v", blocks: ["a", "b", "c"] },
      { id: "w", blocks: ["c"] },
    ]);
    expect(cache.viewIds()).toEqual(["v", "w"]);
    cache.extend("a", [1, 2]);
    cache.extend("c", [3]);
    await cache.place([{ view: "v", block: "a", tokens: [1] }]);
    expect(cache.backlog("v")).toEqual([
      { block: "a", tokens: [2] },
      { block: "c", tokens: [3] },
    ]);
    expect(cache.backlogSize("v")).toBe(2);
    expect(cache.backlog("w")).toEqual([{ block: "c", tokens: [3] }]);
    expect(cache.length("v")).toBe(1);
    expect(cache.blockLength("v", "b")).toBe(0);
    expect(cache.blockLength("w", "a")).toBe(0);
    expect(cache.gapAfter("v", "a")).toBe(0);
    expect(cache.tokens("nothing")).toEqual([]);
    expect(cache.hasBlock("w", "a")).toBe(false);
    expect(cache.freeCells("v")).toBe(31);
    expect(() => cache.truncateBlock("zzz", 0)).toThrow(badInput("Unknown block zzz."));
    expect(() => cache.removeRange("zzz", 0, 1)).toThrow(badInput("Unknown block zzz."));
  });

  it("removes only from views that hold cells at the range, and dropping an empty block costs nothing", async () => {
    const { cache, operations } = cacheWith(64, 3);
    cache.setViews([
      { id: "x", blocks: ["h"] },
      { id: "y", blocks: ["h", "e"] },
      { id: "z", blocks: ["e"] },
    ]);
    cache.extend("h", [1, 2, 3, 4]);
    await cache.place([
      { view: "x", block: "h", tokens: [1, 2, 3, 4] },
      { view: "y", block: "h", tokens: [1, 2] },
    ]);
    cache.removeRange("h", 2, 2);
    expect(operations.filter((op) => op.kind === "remove")).toEqual([
      { kind: "remove", view: "x", block: "h", tokens: 2, movedCells: 0 },
    ]);
    cache.dropFromView("y", "e");
    cache.removeRange("h", 0, 0);
    cache.removeRange("h", 1, -1);
    expect(operations.filter((op) => op.kind === "remove")).toHaveLength(1);
    expect(cache.tokens("h")).toEqual([1, 2]);
  });

  it("rotates two placements into two middle blocks of one view in one decode", async () => {
    const { cache, runtime, operations } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b", "c"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    cache.extend("c", [3]);
    await placeAll(cache);
    cache.extend("a", [4]);
    cache.extend("b", [5]);
    await cache.place([
      { view: "v", block: "a", tokens: [4] },
      { view: "v", block: "b", tokens: [5] },
    ]);
    expect(runtime.decodes.at(-1)).toStrictEqual([{ sequence: 0, firstPosition: 3, tokens: [4, 5] }]);
    expect(operations.slice(-2)).toEqual([
      { kind: "insert", view: "v", block: "a", tokens: 1, movedCells: 3 },
      { kind: "insert", view: "v", block: "b", tokens: 1, movedCells: 2 },
    ]);
    expect(runtime.orderedTokens(0)).toEqual([1, 4, 2, 5, 3]);
    expect(cache.shiftPasses).toBe(0);
    cache.extend("c", [6]);
    await cache.place([{ view: "v", block: "c", tokens: [6] }]);
    expect(cache.shiftPasses).toBe(1);
  });

  it("moves the rest of the view down when a middle block loses its tail, without gaps", async () => {
    const { cache, runtime, operations } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1, 2, 3]);
    cache.extend("b", [4]);
    await placeAll(cache);
    cache.truncateBlock("a", 1);
    expect(operations.at(-1)).toEqual({ kind: "remove", view: "v", block: "a", tokens: 2, movedCells: 1 });
    expect(cache.gapAfter("v", "a")).toBe(0);
    expect(runtime.orderedTokens(0)).toEqual([1, 4]);
    cache.extend("b", [5]);
    await cache.place([{ view: "v", block: "b", tokens: [5] }]);
    expect(cache.shiftPasses).toBe(1);
  });
});

describe("work that is not needed is not done", () => {
  it.each([["rotate"], ["gap"]] as const)(
    "%s: dropping an empty middle block, or closing gaps where there are none, moves nothing",
    async (strategy) => {
      const { cache, runtime, operations } = cacheWith(64, 2, { strategy, gapTokens: 4 });
      cache.setViews([{ id: "v", blocks: ["a", "e", "b"] }]);
      cache.extend("a", [1]);
      cache.extend("b", [2]);
      await placeAll(cache);
      const count = operations.length;
      cache.dropFromView("v", "e");
      cache.closeGaps();
      expect(operations).toHaveLength(count);
      cache.extend("b", [3]);
      await cache.place([{ view: "v", block: "b", tokens: [3] }]);
      expect(cache.shiftPasses).toBe(0);
      expect(runtime.orderedTokens(0)).toEqual([1, 2, 3]);
    },
  );

  it("pays a waiting K-shift in the probe's decode, once", async () => {
    const { cache } = cacheWith();
    cache.setViews([{ id: "v", blocks: ["a", "b"] }]);
    cache.extend("a", [1]);
    cache.extend("b", [2]);
    await placeAll(cache);
    cache.removeRange("a", 0, 1);
    await cache.probe("v", [50], 2);
    expect(cache.shiftPasses).toBe(1);
    cache.extend("b", [3]);
    await cache.place([{ view: "v", block: "b", tokens: [3] }]);
    expect(cache.shiftPasses).toBe(1);
  });
});
