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
  | "thinker_split";

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
}

export interface ViewSpec {
  id: string;
  /** In reading order. Blocks before `history` persist across turns; the rest are rebuilt each turn. */
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
}

const prompt = (id: string, part: PromptPart): BlockSpec => ({ id, source: { kind: "prompt", part } });
const HISTORY: BlockSpec = { id: "history", source: { kind: "history" } };
const USER_OPEN = prompt("user_open", "user_open");
const USER: BlockSpec = { id: "user", source: { kind: "user" } };
const THINKER_OUTPUT: BlockSpec = { id: "thinker_output", source: { kind: "output", stream: "thinker" } };
const WRITER_OUTPUT: BlockSpec = { id: "writer_output", source: { kind: "output", stream: "writer" } };

/**
 * The paper's layout. Writer: user turn, `<think>` thoughts so far, a linker that closes the
 * thoughts and says more will appear, the answer. Thinker: the answer so far as an earlier
 * assistant turn, a linker, then its own `<think>` block.
 */
export const PAPER_LAYOUT: LayoutSpec = {
  name: "paper",
  blocks: [
    prompt("writer_system", "writer_system"),
    prompt("thinker_system", "thinker_system"),
    HISTORY,
    USER_OPEN,
    USER,
    prompt("think_open", "think_open"),
    THINKER_OUTPUT,
    prompt("writer_split", "writer_split"),
    WRITER_OUTPUT,
    prompt("answer_open", "answer_open"),
    prompt("thinker_split", "thinker_split"),
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
};

/**
 * The compact layout (method.md section 2): the thinker does not see the answer, so only the
 * thoughts are mirrored; the probe is asked over the writer view.
 */
export const COMPACT_LAYOUT: LayoutSpec = {
  name: "compact",
  blocks: [
    prompt("shared_system", "shared_system"),
    HISTORY,
    USER_OPEN,
    USER,
    prompt("think_open", "think_open"),
    THINKER_OUTPUT,
    prompt("writer_split", "writer_split"),
    WRITER_OUTPUT,
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
};

/** Baseline "thinking": one ordinary sequence, think fully, then answer. */
export const SEQUENTIAL_THINKING_LAYOUT: LayoutSpec = {
  name: "sequential-thinking",
  blocks: [
    prompt("baseline_system", "baseline_system"),
    HISTORY,
    USER_OPEN,
    USER,
    prompt("think_open", "think_open"),
    THINKER_OUTPUT,
    WRITER_OUTPUT,
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

/** Blocks of a view that are rebuilt every turn (everything after history). */
export function turnBlocks(view: ViewSpec): string[] {
  const index = view.blocks.indexOf("history");
  return view.blocks.slice(index + 1);
}

/** Blocks of a view that persist across turns (system prompt and history). */
export function persistentBlocks(view: ViewSpec): string[] {
  const index = view.blocks.indexOf("history");
  return view.blocks.slice(0, index + 1);
}

/** Checks a layout's invariants; throws with the first violation. */
export function validateLayout(layout: LayoutSpec): void {
  const ids = new Set(layout.blocks.map((b) => b.id));
  if (ids.size !== layout.blocks.length) throw new Error(`Layout ${layout.name} repeats a block id`);
  for (const view of layout.views) {
    for (const b of view.blocks) if (!ids.has(b)) throw new Error(`View ${view.id} names unknown block ${b}`);
    if (!view.blocks.includes("history") || !view.blocks.includes("user")) {
      throw new Error(`View ${view.id} needs the history and user blocks`);
    }
  }
  for (const stream of ["thinker", "writer"] as const) {
    const home = layout.views.find((v) => v.id === layout.home[stream]);
    if (!home) throw new Error(`Layout ${layout.name}: no home view for the ${stream}`);
    if (!home.blocks.includes(`${stream}_output`))
      throw new Error(`The ${stream}'s home view lacks ${stream}_output`);
  }
  if (layout.probe && !layout.views.some((v) => v.id === layout.probe!.view)) {
    throw new Error(`Layout ${layout.name}: unknown probe view`);
  }
}
