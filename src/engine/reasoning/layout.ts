import type { ReasoningMode } from "../../shared/choices.js";
import type { ProbeStyle } from "./promptFamily.js";

/**
 * Blocks and views as data. The engine is generic over these: a block is a run of tokens, a view
 * is the ordered list of blocks one stream reads (one llama.cpp sequence). A block listed in two
 * views is mirrored: its tokens are decoded into each view that shows it.
 */

export type StreamName = "thinker" | "writer";

/** Static text a prompt family renders for a block (see promptFamily.ts). */
export type PromptPart =
  | "writer_system"
  | "thinker_system"
  | "shared_system"
  | "baseline_system"
  | "user_open"
  | "think_open"
  | "nothink_open"
  | "answer_open"
  | "writer_split"
  | "thinker_split"
  | "user_close"
  | "assistant_close";

export type BlockSource =
  | { kind: "prompt"; part: PromptPart }
  /** Earlier turns: user words and spoken answers, shared by every view. */
  | { kind: "history" }
  /** The user's words for this turn (grows while they speak). */
  | { kind: "user" }
  | { kind: "output"; stream: StreamName };

export interface BlockSpec {
  id: string;
  source: BlockSource;
  /**
   * "conversation": decoded once and kept across turns (system prompts, the history).
   * "turn": rebuilt every turn; what a finished turn keeps moves into the history block.
   */
  lifetime: "conversation" | "turn";
}

export interface ViewSpec {
  id: string;
  /** In reading order: the conversation blocks (ending with `history`), then the turn's blocks. */
  blocks: readonly string[];
}

export { LAYOUT_NAMES, type LayoutName } from "../../shared/choices.js";
import type { LayoutName } from "../../shared/choices.js";
export type InternalLayoutName = LayoutName | "sequential-thinking" | "sequential-nothinking";

export interface LayoutSpec {
  name: InternalLayoutName;
  blocks: readonly BlockSpec[];
  views: readonly ViewSpec[];
  /** The view each stream decodes in; its output block is the last one there. */
  home: Readonly<Record<StreamName, string>>;
  /** The view the yes/no question is appended to, and the family's question style for it. */
  probe: { view: string; style: ProbeStyle } | undefined;
  /**
   * What a finished turn leaves in the history block, in order (the same in every view): the
   * user's words and the answer in plain chat form. Thoughts and linkers are not kept.
   */
  historyEntry: readonly string[];
}

const prompt = (id: string, part: PromptPart, lifetime: BlockSpec["lifetime"] = "turn"): BlockSpec => ({
  id,
  source: { kind: "prompt", part },
  lifetime,
});
const system = (id: string, part: PromptPart): BlockSpec => prompt(id, part, "conversation");
const HISTORY: BlockSpec = { id: "history", source: { kind: "history" }, lifetime: "conversation" };
const USER_OPEN = prompt("user_open", "user_open");
const USER: BlockSpec = { id: "user", source: { kind: "user" }, lifetime: "turn" };
const THINKER_OUTPUT: BlockSpec = {
  id: "thinker_output",
  source: { kind: "output", stream: "thinker" },
  lifetime: "turn",
};
const WRITER_OUTPUT: BlockSpec = {
  id: "writer_output",
  source: { kind: "output", stream: "writer" },
  lifetime: "turn",
};
/** The chat markup around a finished turn in the history. */
const USER_CLOSE = prompt("user_close", "user_close");
const ASSISTANT_CLOSE = prompt("assistant_close", "assistant_close");
const HISTORY_ENTRY = ["user_open", "user", "user_close", "writer_output", "assistant_close"] as const;

/**
 * The paper's layout. Writer: user turn, `<think>` thoughts so far, a linker that closes the
 * thoughts and says more will appear, the answer. Thinker: the answer so far as an earlier
 * assistant turn, a linker, then its own `<think>` block.
 */
export const PAPER_LAYOUT: LayoutSpec = {
  name: "paper",
  blocks: [
    system("writer_system", "writer_system"),
    system("thinker_system", "thinker_system"),
    HISTORY,
    USER_OPEN,
    USER,
    prompt("think_open", "think_open"),
    THINKER_OUTPUT,
    prompt("writer_split", "writer_split"),
    WRITER_OUTPUT,
    prompt("answer_open", "answer_open"),
    prompt("thinker_split", "thinker_split"),
    USER_CLOSE,
    ASSISTANT_CLOSE,
  ],
  views: [
    {
      id: "writer",
      blocks: [
        "writer_system",
        "history",
        "user_open",
        "user",
        "think_open",
        "thinker_output",
        "writer_split",
        "writer_output",
      ],
    },
    {
      id: "thinker",
      blocks: [
        "thinker_system",
        "history",
        "user_open",
        "user",
        "answer_open",
        "writer_output",
        "thinker_split",
        "thinker_output",
      ],
    },
  ],
  home: { writer: "writer", thinker: "thinker" },
  probe: { view: "thinker", style: "thinker-aside" },
  historyEntry: HISTORY_ENTRY,
};

/**
 * The compact layout (docs/method.md, Blocks and views): the thinker does not see the answer, so only the
 * thoughts are mirrored; the probe is asked over the writer view.
 */
export const COMPACT_LAYOUT: LayoutSpec = {
  name: "compact",
  blocks: [
    system("shared_system", "shared_system"),
    HISTORY,
    USER_OPEN,
    USER,
    prompt("think_open", "think_open"),
    THINKER_OUTPUT,
    prompt("writer_split", "writer_split"),
    WRITER_OUTPUT,
    USER_CLOSE,
    ASSISTANT_CLOSE,
  ],
  views: [
    {
      id: "writer",
      blocks: [
        "shared_system",
        "history",
        "user_open",
        "user",
        "think_open",
        "thinker_output",
        "writer_split",
        "writer_output",
      ],
    },
    {
      id: "thinker",
      blocks: ["shared_system", "history", "user_open", "user", "think_open", "thinker_output"],
    },
  ],
  home: { writer: "writer", thinker: "thinker" },
  probe: { view: "writer", style: "user-turn" },
  historyEntry: HISTORY_ENTRY,
};

/** Baseline "thinking": one ordinary sequence, think fully, then answer. */
export const SEQUENTIAL_THINKING_LAYOUT: LayoutSpec = {
  name: "sequential-thinking",
  blocks: [
    system("baseline_system", "baseline_system"),
    HISTORY,
    USER_OPEN,
    USER,
    prompt("think_open", "think_open"),
    THINKER_OUTPUT,
    WRITER_OUTPUT,
    USER_CLOSE,
    ASSISTANT_CLOSE,
  ],
  views: [
    {
      id: "main",
      blocks: [
        "baseline_system",
        "history",
        "user_open",
        "user",
        "think_open",
        "thinker_output",
        "writer_output",
      ],
    },
  ],
  home: { writer: "main", thinker: "main" },
  probe: undefined,
  historyEntry: HISTORY_ENTRY,
};

/** Baseline "nothinking": an empty think block, then the answer. */
export const SEQUENTIAL_NOTHINKING_LAYOUT: LayoutSpec = {
  ...SEQUENTIAL_THINKING_LAYOUT,
  name: "sequential-nothinking",
  blocks: SEQUENTIAL_THINKING_LAYOUT.blocks.map((b) =>
    b.id === "think_open" ? prompt("think_open", "nothink_open") : b,
  ),
};

export const LAYOUTS: Readonly<Record<LayoutName, LayoutSpec>> = {
  paper: PAPER_LAYOUT,
  compact: COMPACT_LAYOUT,
};

const BASELINE_LAYOUTS: Readonly<Record<Exclude<ReasoningMode, "async">, LayoutSpec>> = {
  thinking: SEQUENTIAL_THINKING_LAYOUT,
  nothinking: SEQUENTIAL_NOTHINKING_LAYOUT,
};

/** The layout a turn of this mode runs in: the chosen async layout, or a baseline's single sequence. */
export function layoutFor(mode: ReasoningMode, asyncLayout: LayoutName): LayoutSpec {
  return mode === "async" ? LAYOUTS[asyncLayout] : BASELINE_LAYOUTS[mode];
}

function blockSpec(layout: LayoutSpec, id: string): BlockSpec {
  const block = layout.blocks.find((b) => b.id === id);
  if (!block) throw new Error(`Layout ${layout.name} has no block ${id}`);
  return block;
}

/** Blocks of a view that are rebuilt every turn. */
export function turnBlocks(layout: LayoutSpec, view: ViewSpec): string[] {
  return view.blocks.filter((id) => blockSpec(layout, id).lifetime === "turn");
}

/** Blocks of a view that persist across turns (system prompt and history). */
export function conversationBlocks(layout: LayoutSpec, view: ViewSpec): string[] {
  return view.blocks.filter((id) => blockSpec(layout, id).lifetime === "conversation");
}

/** The ids of the blocks that hold a stream's output (mirrored into the other stream's view). */
export function outputBlocks(layout: LayoutSpec): ReadonlySet<string> {
  return new Set(layout.blocks.filter((b) => b.source.kind === "output").map((b) => b.id));
}

/** Checks a layout's invariants; throws with the first violation. */
export function validateLayout(layout: LayoutSpec): void {
  const ids = new Set(layout.blocks.map((b) => b.id));
  if (ids.size !== layout.blocks.length) throw new Error(`Layout ${layout.name} repeats a block id`);
  for (const view of layout.views) {
    for (const b of view.blocks) if (!ids.has(b)) throw new Error(`View ${view.id} names unknown block ${b}`);
    if (new Set(view.blocks).size !== view.blocks.length)
      throw new Error(`View ${view.id} shows a block twice`);
    if (!view.blocks.includes("history") || !view.blocks.includes("user")) {
      throw new Error(`View ${view.id} needs the history and user blocks`);
    }
    // The conversation's blocks come first and end with the history: a turn only ever appends after them.
    const lifetimes = view.blocks.map((b) => blockSpec(layout, b).lifetime);
    const firstTurn = lifetimes.indexOf("turn");
    if (lifetimes.slice(firstTurn).includes("conversation") || view.blocks[firstTurn - 1] !== "history") {
      throw new Error(`View ${view.id} must list its conversation blocks first, ending with history`);
    }
  }
  for (const stream of ["thinker", "writer"] as const) {
    const home = layout.views.find((v) => v.id === layout.home[stream]);
    if (!home) throw new Error(`Layout ${layout.name}: no home view for the ${stream}`);
    const output = layout.blocks.find((b) => b.source.kind === "output" && b.source.stream === stream);
    if (!output || !home.blocks.includes(output.id))
      throw new Error(`The ${stream}'s home view lacks its output block`);
    // Each stream appends to the end of its own view (in a baseline both streams share one view, in turn).
    if (layout.home.thinker !== layout.home.writer && home.blocks.at(-1) !== output.id)
      throw new Error(`The ${stream}'s output must end its home view`);
  }
  for (const b of layout.historyEntry) {
    if (!ids.has(b)) throw new Error(`Layout ${layout.name}: history entry names unknown block ${b}`);
    if (blockSpec(layout, b).lifetime !== "turn")
      throw new Error(`History entry block ${b} must be a turn block`);
  }
  if (layout.probe && !layout.views.some((v) => v.id === layout.probe!.view)) {
    throw new Error(`Layout ${layout.name}: unknown probe view`);
  }
}
