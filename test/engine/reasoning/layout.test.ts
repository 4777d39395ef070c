/** Layouts as data (docs/method.md, "Blocks and views"): the shipped ones are valid, and every guard catches its fault. */
import { describe, expect, it } from "vitest";
import {
  COMPACT_LAYOUT,
  LAYOUTS,
  PAPER_LAYOUT,
  SEQUENTIAL_NOTHINKING_LAYOUT,
  SEQUENTIAL_THINKING_LAYOUT,
  conversationBlocks,
  layoutFor,
  outputBlocks,
  turnBlocks,
  validateLayout,
  type LayoutSpec,
} from "../../../src/engine/reasoning/layout.js";

/** The paper layout with one change. */
const changed = (change: (layout: LayoutSpec) => Partial<LayoutSpec>): LayoutSpec => ({
  ...PAPER_LAYOUT,
  ...change(PAPER_LAYOUT),
});
const withView = (id: string, blocks: string[]) =>
  changed((l) => ({ views: l.views.map((v) => (v.id === id ? { ...v, blocks } : v)) }));

describe("layouts", () => {
  it("ships valid layouts, and picks one per mode", () => {
    for (const layout of [
      PAPER_LAYOUT,
      COMPACT_LAYOUT,
      SEQUENTIAL_THINKING_LAYOUT,
      SEQUENTIAL_NOTHINKING_LAYOUT,
    ])
      expect(() => validateLayout(layout)).not.toThrow();
    expect(layoutFor("async", "paper")).toBe(PAPER_LAYOUT);
    expect(layoutFor("async", "compact")).toBe(COMPACT_LAYOUT);
    expect(layoutFor("thinking", "compact")).toBe(SEQUENTIAL_THINKING_LAYOUT);
    expect(layoutFor("nothinking", "paper")).toBe(SEQUENTIAL_NOTHINKING_LAYOUT);
    expect(Object.keys(LAYOUTS)).toEqual(["paper", "compact"]);
  });

  it("splits each view into the blocks kept across turns and the turn's own", () => {
    const writer = PAPER_LAYOUT.views.find((v) => v.id === "writer")!;
    expect(conversationBlocks(PAPER_LAYOUT, writer)).toEqual(["writer_system", "history"]);
    expect(turnBlocks(PAPER_LAYOUT, writer)).toEqual([
      "user_open",
      "user",
      "think_open",
      "thinker_output",
      "writer_split",
      "writer_output",
    ]);
    const thinker = COMPACT_LAYOUT.views.find((v) => v.id === "thinker")!;
    expect(conversationBlocks(COMPACT_LAYOUT, thinker)).toEqual(["shared_system", "history"]);
    expect([...outputBlocks(PAPER_LAYOUT)].sort()).toEqual(["thinker_output", "writer_output"]);
    expect(() => turnBlocks(PAPER_LAYOUT, { id: "odd", blocks: ["nope"] })).toThrow(
      /Layout paper has no block nope/,
    );
    // A history entry holds the user's words and the answer in chat form, no thoughts.
    expect(PAPER_LAYOUT.historyEntry).toEqual([
      "user_open",
      "user",
      "user_close",
      "writer_output",
      "assistant_close",
    ]);
  });

  it.each<[string, LayoutSpec, RegExp]>([
    ["a repeated block id", changed((l) => ({ blocks: [...l.blocks, l.blocks[0]!] })), /repeats a block id/],
    [
      "an unknown block in a view",
      withView("writer", ["writer_system", "history", "user", "nope"]),
      /unknown block nope/,
    ],
    [
      "a block shown twice",
      withView("writer", ["writer_system", "history", "user", "user", "writer_output"]),
      /shows a block twice/,
    ],
    [
      "a view without history",
      withView("writer", ["writer_system", "user_open", "user", "writer_output"]),
      /needs the history and user blocks/,
    ],
    [
      "a view without the user's words",
      withView("writer", ["writer_system", "history", "user_open", "writer_output"]),
      /needs the history and user blocks/,
    ],
    [
      "a conversation block after the turn's blocks",
      withView("writer", ["history", "user_open", "user", "writer_system", "writer_output"]),
      /conversation blocks first, ending with history/,
    ],
    [
      "history not right before the turn",
      withView("writer", ["history", "writer_system", "user_open", "user", "writer_output"]),
      /conversation blocks first, ending with history/,
    ],
    [
      "a missing home view",
      changed(() => ({ home: { writer: "nowhere", thinker: "thinker" } })),
      /no home view for the writer/,
    ],
    [
      "a stream whose output is not in its home",
      withView("writer", ["writer_system", "history", "user_open", "user", "think_open", "thinker_output"]),
      /writer's home view lacks its output block/,
    ],
    [
      "an output that does not end its view",
      withView("writer", ["writer_system", "history", "user_open", "user", "writer_output", "writer_split"]),
      /writer's output must end its home view/,
    ],
    [
      "an unknown block in the history entry",
      changed(() => ({ historyEntry: ["user", "nope"] })),
      /history entry names unknown block nope/,
    ],
    [
      "a kept system prompt in the history entry",
      changed(() => ({ historyEntry: ["writer_system", "user"] })),
      /must be a turn block/,
    ],
    [
      "an unknown probe view",
      changed(() => ({ probe: { view: "nowhere", style: "thinker-aside" } })),
      /unknown probe view/,
    ],
  ])("refuses %s", (_name, layout, message) => {
    expect(() => validateLayout(layout)).toThrow(message);
  });
});
