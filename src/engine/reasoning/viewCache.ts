import { appendAll, minOf } from "../../shared/arrays.js";
import { DuetError } from "../errors.js";
import type { CacheOperation } from "../../shared/turnEvents.js";
import type { CandidateProbabilities, KvRuntime, LogitsRef, Token } from "../llama/types.js";

export type { CacheOperation };

/** One placement of tokens into a block of a view, as decoded in one batch. */
export interface Placement {
  view: string;
  block: string;
  /** Must equal the block's next tokens that this view does not hold yet. */
  tokens: readonly Token[];
  /** Read logits after the last token. Placements with logits must end at the view's end. */
  logits?: boolean;
}

export class ContextFullError extends DuetError {
  constructor(
    readonly view: string,
    readonly needed: number,
    readonly available: number,
  ) {
    super("context-overflow", `The ${view} view needs ${needed} more cells but only ${available} are free.`);
  }
}

interface ViewState {
  readonly id: string;
  readonly sequence: number;
  blocks: string[];
  readonly lengths: Map<string, number>;
}

/**
 * Keeps the block table of every view (one llama.cpp sequence each) and places tokens so that
 * each view reads its blocks as one contiguous sequence: positions are prefix sums of the block
 * lengths. Tokens can only be decoded at a sequence's end, so a placement into the middle is
 * decoded at the end and rotated into place (three coalesced shifts, one K-shift pass at the
 * next decode). Block contents are shared: a view that shows another view's block mirrors it.
 */
export class ViewCache {
  private readonly blockTokens = new Map<string, Token[]>();
  private readonly views = new Map<string, ViewState>();
  /** Positions that changed since the last decode (their K-shift runs in the next decode). */
  private pendingShift = false;
  shiftPasses = 0;

  constructor(
    private readonly runtime: KvRuntime,
    private readonly observe: (operation: CacheOperation) => void = () => {},
  ) {}

  /** Declares the views, in sequence order. Existing lengths are kept for blocks still listed. */
  setViews(views: ReadonlyArray<{ id: string; blocks: readonly string[] }>): void {
    if (views.length > this.runtime.sequences) {
      throw new DuetError(
        "invalid-argument",
        `The layout needs ${views.length} sequences; the context has ${this.runtime.sequences}.`,
      );
    }
    views.forEach((spec, sequence) => {
      const existing = this.views.get(spec.id);
      const lengths = existing?.lengths ?? new Map<string, number>();
      for (const block of spec.blocks) {
        if (!lengths.has(block)) lengths.set(block, 0);
        if (!this.blockTokens.has(block)) this.blockTokens.set(block, []);
      }
      for (const block of [...lengths.keys()]) {
        if (!spec.blocks.includes(block) && (lengths.get(block) ?? 0) > 0) {
          throw new DuetError(
            "invalid-argument",
            `View ${spec.id} still holds block ${block}; remove it first.`,
          );
        }
        if (!spec.blocks.includes(block)) lengths.delete(block);
      }
      this.views.set(spec.id, { id: spec.id, sequence, blocks: [...spec.blocks], lengths });
    });
  }

  get contextSize(): number {
    return this.runtime.contextSize;
  }

  viewIds(): string[] {
    return [...this.views.keys()];
  }

  /** The block's content (all views mirror towards it). */
  tokens(block: string): readonly Token[] {
    return this.blockTokens.get(block) ?? [];
  }

  /** Adds tokens to a block's content; views receive them when placed. */
  extend(block: string, tokens: readonly Token[]): void {
    const content = this.blockTokens.get(block);
    if (!content) throw new DuetError("invalid-argument", `Unknown block ${block}.`);
    appendAll(content, tokens);
  }

  hasBlock(view: string, block: string): boolean {
    return this.view(view).lengths.has(block);
  }

  length(view: string): number {
    let total = 0;
    for (const n of this.view(view).lengths.values()) total += n;
    return total;
  }

  blockLength(view: string, block: string): number {
    return this.view(view).lengths.get(block) ?? 0;
  }

  /** Position of the first cell of `block` in `view`. */
  blockStart(view: string, block: string): number {
    const state = this.view(view);
    let offset = 0;
    for (const id of state.blocks) {
      if (id === block) return offset;
      offset += state.lengths.get(id) ?? 0;
    }
    throw new DuetError("invalid-argument", `View ${view} does not show block ${block}.`);
  }

  /** Tokens of blocks this view shows but does not hold yet, in view order. */
  backlog(view: string): Array<{ block: string; tokens: Token[] }> {
    const state = this.view(view);
    const out: Array<{ block: string; tokens: Token[] }> = [];
    for (const block of state.blocks) {
      const content = this.blockTokens.get(block)!;
      const held = state.lengths.get(block) ?? 0;
      if (content.length > held) out.push({ block, tokens: content.slice(held) });
    }
    return out;
  }

  backlogSize(view: string): number {
    return this.backlog(view).reduce((n, b) => n + b.tokens.length, 0);
  }

  freeCells(view: string): number {
    return this.runtime.contextSize - this.length(view);
  }

  /**
   * Decodes every placement in one batch (split only if it exceeds the batch size), then rotates
   * each placement into its block. Within a view, placements are decoded in the given order, so
   * a placement that reads logits must come before any that will be rotated below it.
   */
  async place(placements: readonly Placement[]): Promise<Array<LogitsRef | undefined>> {
    const byView = new Map<string, Placement[]>();
    for (const p of placements) {
      if (p.tokens.length === 0) continue;
      const list = byView.get(p.view) ?? [];
      list.push(p);
      byView.set(p.view, list);
    }
    for (const [view, list] of byView) {
      const needed = list.reduce((n, p) => n + p.tokens.length, 0);
      const free = this.freeCells(view);
      if (needed > free) throw new ContextFullError(view, needed, free);
      // Check the tokens really are the block's next ones, so views never drift apart silently.
      const claimed = new Map<string, number>();
      for (const p of list) {
        const offset = this.blockLength(view, p.block) + (claimed.get(p.block) ?? 0);
        const content = this.blockTokens.get(p.block);
        if (!content || !this.hasBlock(view, p.block))
          throw new DuetError("invalid-argument", `View ${view} does not show block ${p.block}.`);
        for (let i = 0; i < p.tokens.length; i++) {
          if (content[offset + i] !== p.tokens[i]) {
            throw new DuetError(
              "invalid-argument",
              `Placement into ${view}/${p.block} does not match the block's content at ${offset + i}.`,
            );
          }
        }
        claimed.set(p.block, (claimed.get(p.block) ?? 0) + p.tokens.length);
      }
    }

    // One batch item per view: its placements back to back at the view's end.
    const items = [...byView].map(([view, list]) => {
      const tokens: Token[] = [];
      let logitIndex: number | undefined;
      for (const p of list) {
        appendAll(tokens, p.tokens);
        if (p.logits) {
          if (logitIndex !== undefined)
            throw new DuetError("invalid-argument", `Two logits placements in view ${view}.`);
          logitIndex = tokens.length - 1;
        }
      }
      return { view, list, tokens, logitIndex };
    });
    if (items.length === 0) return placements.map(() => undefined);
    const refs = await this.runtime.decode(
      items.map((item) => ({
        sequence: this.view(item.view).sequence,
        firstPosition: this.length(item.view),
        tokens: item.tokens,
        ...(item.logitIndex !== undefined ? { logitIndex: item.logitIndex } : {}),
      })),
    );
    if (this.pendingShift) this.shiftPasses++;
    this.pendingShift = false;

    // Rotate each placement into place, in order; earlier placements are settled first.
    for (const item of items) {
      const state = this.view(item.view);
      let segmentStart = this.length(item.view);
      for (const p of item.list) {
        const n = p.tokens.length;
        const target = this.blockStart(item.view, p.block) + this.blockLength(item.view, p.block);
        if (target < segmentStart) {
          this.rotateIntoPlace(state, segmentStart, n, target);
          this.observe({
            kind: "insert",
            view: item.view,
            block: p.block,
            tokens: n,
            movedCells: segmentStart - target + n,
          });
        } else {
          this.observe({ kind: "append", view: item.view, block: p.block, tokens: n, movedCells: 0 });
        }
        state.lengths.set(p.block, this.blockLength(item.view, p.block) + n);
        segmentStart += n;
      }
    }
    const byPlacement = new Map<Placement, LogitsRef | undefined>();
    items.forEach((item, i) => {
      const withLogits = item.list.find((p) => p.logits);
      if (withLogits) byPlacement.set(withLogits, refs[i]);
    });
    return placements.map((p) => byPlacement.get(p));
  }

  /**
   * Moves cells [start, start + n) down to `target`, and the cells in [target, start) up by n.
   * Parks the segment past the sequence end first so the ranges never overlap.
   */
  private rotateIntoPlace(state: ViewState, start: number, n: number, target: number): void {
    const end = this.runtime.positions(state.sequence).max + 1;
    const park = end - start; // segment -> [end, end + n)
    this.runtime.shift(state.sequence, start, start + n, park);
    this.runtime.shift(state.sequence, target, start, n);
    this.runtime.shift(state.sequence, end, end + n, target - end);
    this.pendingShift = true;
  }

  /** Removes the block's tokens from `from` on, in its content and in every view that holds them. */
  truncateBlock(block: string, from: number): void {
    const content = this.blockTokens.get(block);
    if (!content) throw new DuetError("invalid-argument", `Unknown block ${block}.`);
    if (from < content.length) this.removeRange(block, from, content.length - from);
  }

  /** Removes tokens [from, from + count) of a block, in its content and in every view that holds them. */
  removeRange(block: string, from: number, count: number): void {
    const content = this.blockTokens.get(block);
    if (!content) throw new DuetError("invalid-argument", `Unknown block ${block}.`);
    if (count <= 0 || from >= content.length) return;
    for (const view of this.views.values()) {
      const held = view.lengths.get(block);
      if (held === undefined || held <= from) continue;
      this.removeCells(view, block, from, Math.min(count, held - from));
    }
    content.splice(from, count);
  }

  /** Removes a block's cells from one view without touching its content (the view stops showing them). */
  dropFromView(view: string, block: string): void {
    const state = this.view(view);
    const held = state.lengths.get(block) ?? 0;
    if (held > 0) this.removeCells(state, block, 0, held);
  }

  private removeCells(state: ViewState, block: string, from: number, count: number): void {
    const start = this.blockStart(state.id, block) + from;
    const end = this.length(state.id);
    this.runtime.remove(state.sequence, start, start + count);
    if (start + count < end) {
      this.runtime.shift(state.sequence, start + count, end, -count);
      this.pendingShift = true;
    }
    state.lengths.set(block, (state.lengths.get(block) ?? 0) - count);
    this.observe({ kind: "remove", view: state.id, block, tokens: count, movedCells: end - start - count });
  }

  /** Replaces the block list of a view, merging adjacent blocks' cells into `into` (no cell moves). */
  mergeBlocks(view: string, blocks: readonly string[], into: string): void {
    const state = this.view(view);
    const indexes = blocks.map((b) => state.blocks.indexOf(b));
    const first = minOf(indexes);
    if (indexes.some((i) => i < 0) || indexes.some((i, k) => i !== first + k)) {
      throw new DuetError(
        "invalid-argument",
        `Blocks ${blocks.join(", ")} are not adjacent in view ${view}.`,
      );
    }
    if (!blocks.includes(into))
      throw new DuetError("invalid-argument", `${into} must be one of the merged blocks.`);
    const total = blocks.reduce((n, b) => n + (state.lengths.get(b) ?? 0), 0);
    for (const b of blocks) if (b !== into) state.lengths.delete(b);
    state.lengths.set(into, total);
    state.blocks = state.blocks.filter((b) => b === into || !blocks.includes(b));
  }

  /** Rewrites a block's content record after a merge (bookkeeping only, cells already match). */
  setContent(block: string, tokens: readonly Token[]): void {
    this.blockTokens.set(block, [...tokens]);
  }

  /**
   * Appends `question` at the end of `view`, reads the next-token candidates, then removes the
   * question's cells: the view is left exactly as it was.
   */
  async probe(view: string, question: readonly Token[], topK: number): Promise<CandidateProbabilities> {
    const state = this.view(view);
    const start = this.length(view);
    const free = this.freeCells(view);
    if (question.length > free) throw new ContextFullError(view, question.length, free);
    const [logits] = await this.runtime.decode([
      { sequence: state.sequence, firstPosition: start, tokens: question, logitIndex: question.length - 1 },
    ]);
    if (this.pendingShift) this.shiftPasses++;
    this.pendingShift = false;
    try {
      return await this.runtime.candidates(logits!, topK);
    } finally {
      this.runtime.remove(state.sequence, start, -1);
      this.observe({ kind: "probe", view, block: "(question)", tokens: question.length, movedCells: 0 });
    }
  }

  /** The tokens a view holds, in reading order (what the stream reading it sees). */
  viewTokens(view: string): Token[] {
    const state = this.view(view);
    return state.blocks.flatMap((block) =>
      (this.blockTokens.get(block) ?? []).slice(0, state.lengths.get(block) ?? 0),
    );
  }

  /** Checks the runtime's positions against the table: each view spans [0, length). */
  verify(): void {
    for (const view of this.views.values()) {
      const { min, max } = this.runtime.positions(view.sequence);
      const length = this.length(view.id);
      const ok = length === 0 ? max < 0 : min === 0 && max === length - 1;
      if (!ok) {
        throw new DuetError(
          "adapter-incompatible",
          `View ${view.id} spans [${min}, ${max}] but its blocks hold ${length} tokens.`,
        );
      }
    }
  }

  private view(id: string): ViewState {
    const state = this.views.get(id);
    if (!state) throw new DuetError("invalid-argument", `Unknown view ${id}.`);
    return state;
  }
}
