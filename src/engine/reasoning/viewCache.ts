import { appendAll, minOf } from "../../shared/arrays.js";
import { DuetError } from "../errors.js";
import type { CacheOperation } from "../../shared/turnEvents.js";
import type { CandidateProbabilities, CellCopy, KvRuntime, LogitsRef, Token } from "../llama/types.js";

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

/**
 * How tokens reach a position in the middle of a view (docs/method.md, "Positions"):
 * - `rotate`: decoded at the sequence's end, then rotated into place (stock llama.cpp; one
 *   K-shift pass over the cache at the next decode for every move);
 * - `gap`: decoded straight into a gap of free positions reserved after the block (Duet's build);
 * - `copy`: a stream's output is not decoded again at all: its cells are copied from the view
 *   that computed them into the gap, keys rotated by the position change (Duet's build; the
 *   paper's "computed once, shown in both views"). Anything else is decoded into the gap.
 * With gaps, a K-shift pass is needed only when a gap fills and the rest of the view must move.
 */
export type PlacementStrategy = "rotate" | "gap" | "copy";

export interface ViewCacheOptions {
  /** Default "rotate". "gap" and "copy" need the runtime's capabilities. */
  strategy?: PlacementStrategy;
  /** Free positions a gap is (re)opened with. Default 64. */
  gapTokens?: number;
}

interface ViewState {
  readonly id: string;
  readonly sequence: number;
  blocks: string[];
  /** Cells held per block. */
  readonly lengths: Map<string, number>;
  /** Free positions reserved after each block's cells (gap strategies only). */
  readonly gaps: Map<string, number>;
}

/**
 * Keeps the block table of every view (one llama.cpp sequence each) and places tokens so that
 * each view reads its blocks in order: a block starts where the previous one's cells (and gap)
 * end. Block contents are shared: a view that shows another view's block mirrors it.
 */
export class ViewCache {
  private readonly blockTokens = new Map<string, Token[]>();
  private readonly views = new Map<string, ViewState>();
  /** The view each output block is computed in (its stream's home), for copies. */
  private readonly sources = new Map<string, string>();
  /** Positions that changed since the last decode (their K-shift runs in the next decode). */
  private pendingShift = false;
  shiftPasses = 0;
  /** Cells copied from one view into another instead of being decoded again. */
  copiedCells = 0;
  readonly strategy: PlacementStrategy;
  private readonly gapTokens: number;

  constructor(
    private readonly runtime: KvRuntime,
    private readonly observe: (operation: CacheOperation) => void = () => {},
    options: ViewCacheOptions = {},
  ) {
    this.strategy = options.strategy ?? "rotate";
    this.gapTokens = options.gapTokens ?? 64;
    if (!Number.isInteger(this.gapTokens) || this.gapTokens < 1)
      throw new DuetError("invalid-argument", "gapTokens must be a positive integer.");
    if (this.strategy !== "rotate") {
      if (!runtime.capabilities.gapDecode)
        throw new DuetError(
          "unsupported-operation",
          `The loaded llama.cpp cannot decode into gaps (needed for "${this.strategy}").`,
        );
      if (this.strategy === "copy" && !runtime.capabilities.kvCopy)
        throw new DuetError(
          "unsupported-operation",
          "The loaded llama.cpp cannot copy cells between sequences.",
        );
      runtime.setGapDecoding(true);
    }
  }

  /**
   * The default strategy for what the runtime can do: gaps wherever it can decode into them. Both
   * gap and copy placement are exact; a copy saves recomputing the mirrored tokens but costs a
   * graph of its own, and measured slower than decoding them into the gap (docs/native-build.md,
   * "Raw decode costs"), so copies are used only when asked for.
   */
  static bestStrategy(runtime: Pick<KvRuntime, "capabilities">): PlacementStrategy {
    return runtime.capabilities.gapDecode ? "gap" : "rotate";
  }

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
      const gaps = existing?.gaps ?? new Map<string, number>();
      for (const block of spec.blocks) {
        if (!lengths.has(block)) lengths.set(block, 0);
        if (!this.blockTokens.has(block)) this.blockTokens.set(block, []);
      }
      for (const block of [...lengths.keys()]) {
        if (!spec.blocks.includes(block) && ((lengths.get(block) ?? 0) > 0 || (gaps.get(block) ?? 0) > 0)) {
          throw new DuetError(
            "invalid-argument",
            `View ${spec.id} still holds block ${block}; remove it first.`,
          );
        }
        if (!spec.blocks.includes(block)) {
          lengths.delete(block);
          gaps.delete(block);
        }
      }
      this.views.set(spec.id, { id: spec.id, sequence, blocks: [...spec.blocks], lengths, gaps });
    });
  }

  /** Says which view computes each output block (its stream's home), so mirrors can be copied from it. */
  setSources(sources: Readonly<Record<string, string>>): void {
    this.sources.clear();
    for (const [block, view] of Object.entries(sources)) this.sources.set(block, view);
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

  /** Cells the view holds. */
  length(view: string): number {
    let total = 0;
    for (const n of this.view(view).lengths.values()) total += n;
    return total;
  }

  blockLength(view: string, block: string): number {
    return this.view(view).lengths.get(block) ?? 0;
  }

  /** Free positions reserved after a block's cells (0 without gaps). */
  gapAfter(view: string, block: string): number {
    return this.view(view).gaps.get(block) ?? 0;
  }

  /** Position of the first cell of `block` in `view`. */
  blockStart(view: string, block: string): number {
    const state = this.view(view);
    let offset = 0;
    for (const id of state.blocks) {
      if (id === block) return offset;
      offset += (state.lengths.get(id) ?? 0) + (state.gaps.get(id) ?? 0);
    }
    throw new DuetError("invalid-argument", `View ${view} does not show block ${block}.`);
  }

  /** One past the view's last cell: where a probe question goes. */
  private end(state: ViewState): number {
    let offset = 0;
    let end = 0;
    for (const id of state.blocks) {
      const held = state.lengths.get(id) ?? 0;
      if (held > 0) end = offset + held;
      offset += held + (state.gaps.get(id) ?? 0);
    }
    return end;
  }

  /** Whether any block after `block` in the view holds cells (a placement into it lands in the middle). */
  private cellsAfter(state: ViewState, block: string): boolean {
    const index = state.blocks.indexOf(block);
    return state.blocks.slice(index + 1).some((id) => (state.lengths.get(id) ?? 0) > 0);
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

  /** Checks placements against the blocks' contents and the views' free cells. */
  private check(placements: readonly Placement[]): Map<string, Placement[]> {
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
      if (list.filter((p) => p.logits).length > 1)
        throw new DuetError("invalid-argument", `Two logits placements in view ${view}.`);
    }
    return byView;
  }

  /**
   * Decodes every placement in one batch (split only if it exceeds the batch size). Within a
   * view, placements are taken in the given order, so a placement that reads logits must come
   * before any that will land below it.
   */
  async place(placements: readonly Placement[]): Promise<Array<LogitsRef | undefined>> {
    const byView = this.check(placements);
    if (byView.size === 0) return placements.map(() => undefined);
    return this.strategy === "rotate"
      ? this.placeByRotation(placements, byView)
      : this.placeInGaps(placements, byView);
  }

  private finishDecode(): void {
    if (this.pendingShift) this.shiftPasses++;
    this.pendingShift = false;
  }

  private async placeByRotation(
    placements: readonly Placement[],
    byView: Map<string, Placement[]>,
  ): Promise<Array<LogitsRef | undefined>> {
    // One batch item per view: its placements back to back at the view's end.
    const items = [...byView].map(([view, list]) => {
      const tokens: Token[] = [];
      let logitIndex: number | undefined;
      for (const p of list) {
        appendAll(tokens, p.tokens);
        if (p.logits) logitIndex = tokens.length - 1;
      }
      return { view, list, tokens, logitIndex };
    });
    const refs = await this.runtime.decode(
      items.map((item) => ({
        sequence: this.view(item.view).sequence,
        firstPosition: this.length(item.view),
        tokens: item.tokens,
        ...(item.logitIndex !== undefined ? { logitIndex: item.logitIndex } : {}),
      })),
    );
    this.finishDecode();

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
   * Makes room for `n` more cells right after `block`'s cells in the view: its gap, reopened
   * (the rest of the view moved up, one K-shift pass at the next decode) when it is too small.
   */
  private ensureRoom(state: ViewState, block: string, n: number): void {
    if (!this.cellsAfter(state, block)) return;
    const gap = state.gaps.get(block) ?? 0;
    if (gap >= n) return;
    const grow = n - gap + this.gapTokens;
    const tail = this.blockStart(state.id, block) + (state.lengths.get(block) ?? 0) + gap;
    const moved = this.length(state.id) - this.cellsBefore(state, tail);
    this.runtime.shift(state.sequence, tail, -1, grow);
    this.pendingShift = true;
    state.gaps.set(block, gap + grow);
    this.observe({ kind: "gap", view: state.id, block, tokens: grow, movedCells: moved });
  }

  /** Cells of the view at positions below `position`. */
  private cellsBefore(state: ViewState, position: number): number {
    let offset = 0;
    let cells = 0;
    for (const id of state.blocks) {
      if (offset >= position) break;
      cells += Math.min(state.lengths.get(id) ?? 0, position - offset);
      offset += (state.lengths.get(id) ?? 0) + (state.gaps.get(id) ?? 0);
    }
    return cells;
  }

  /** Records `n` cells placed right after `block`'s cells, using up its gap when it lands in the middle. */
  private settle(state: ViewState, block: string, n: number): void {
    const inMiddle = this.cellsAfter(state, block);
    state.lengths.set(block, (state.lengths.get(block) ?? 0) + n);
    if (inMiddle) state.gaps.set(block, (state.gaps.get(block) ?? 0) - n);
  }

  private async placeInGaps(
    placements: readonly Placement[],
    byView: Map<string, Placement[]>,
  ): Promise<Array<LogitsRef | undefined>> {
    interface Planned {
      placement: Placement;
      state: ViewState;
      target: number;
      /** Copied from the view that computed these cells, at this offset of the block there. */
      copyFrom?: { view: string; offset: number };
    }
    // Room first, for every placement of the batch: making room moves the cells after a block,
    // so targets are only read once no more room will be made.
    for (const [view, list] of byView) {
      const state = this.view(view);
      const needs = new Map<string, number>();
      for (const p of list) needs.set(p.block, (needs.get(p.block) ?? 0) + p.tokens.length);
      for (const [block, n] of needs) this.ensureRoom(state, block, n);
    }
    // Cells each view will hold of each block once this batch is decoded (copies may read them).
    const willHold = new Map<string, number>();
    for (const [view, list] of byView)
      for (const p of list) {
        const key = `${view}/${p.block}`;
        willHold.set(key, (willHold.get(key) ?? this.blockLength(view, p.block)) + p.tokens.length);
      }
    const planned: Planned[] = [];
    for (const [view, list] of byView) {
      const state = this.view(view);
      // Targets are read in reading order, so a block's tokens never land where a later block's
      // tokens of this batch were just placed (rotation takes any order; positions here are final).
      const inReadingOrder = [...list].sort(
        (x, y) => state.blocks.indexOf(x.block) - state.blocks.indexOf(y.block),
      );
      for (const p of inReadingOrder) {
        const n = p.tokens.length;
        const offset = state.lengths.get(p.block) ?? 0;
        const target = this.blockStart(view, p.block) + offset;
        const source = this.sources.get(p.block);
        const copyable =
          this.strategy === "copy" &&
          !p.logits &&
          source !== undefined &&
          source !== view &&
          this.views.has(source) &&
          offset + n <= (willHold.get(`${source}/${p.block}`) ?? this.blockLength(source, p.block));
        planned.push({
          placement: p,
          state,
          target,
          ...(copyable ? { copyFrom: { view: source, offset } } : {}),
        });
        this.settle(state, p.block, n);
      }
    }

    const decoded = planned.filter((p) => !p.copyFrom);
    const refs =
      decoded.length > 0
        ? await this.runtime.decode(
            decoded.map((p) => ({
              sequence: p.state.sequence,
              firstPosition: p.target,
              tokens: p.placement.tokens,
              ...(p.placement.logits ? { logitIndex: p.placement.tokens.length - 1 } : {}),
            })),
          )
        : [];
    this.finishDecode();
    const copies: CellCopy[] = [];
    for (const p of planned) {
      if (!p.copyFrom) continue;
      const from = this.view(p.copyFrom.view);
      const start = this.blockStart(from.id, p.placement.block) + p.copyFrom.offset;
      copies.push({
        from: from.sequence,
        to: p.state.sequence,
        start,
        end: start + p.placement.tokens.length,
        delta: p.target - start,
      });
    }
    if (copies.length > 0) this.copiedCells += await this.runtime.copyCells(copies);
    for (const p of planned) {
      const atEnd = p.target + p.placement.tokens.length === this.end(p.state);
      this.observe({
        kind: atEnd ? "append" : p.copyFrom ? "copy" : "insert",
        view: p.state.id,
        block: p.placement.block,
        tokens: p.placement.tokens.length,
        movedCells: 0,
      });
    }
    const byPlacement = new Map<Placement, LogitsRef | undefined>();
    decoded.forEach((p, i) => {
      if (p.placement.logits) byPlacement.set(p.placement, refs[i]);
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
    this.closeGap(state, block);
  }

  /**
   * Removes cells of a block. The cells after them move down to close the hole, except that with
   * gaps a hole at the end of a block in the middle of a view just becomes part of its gap.
   */
  private removeCells(state: ViewState, block: string, from: number, count: number): void {
    const start = this.blockStart(state.id, block) + from;
    const held = state.lengths.get(block) ?? 0;
    const end = this.end(state);
    this.runtime.remove(state.sequence, start, start + count);
    state.lengths.set(block, held - count);
    const tailOfBlock = from + count === held;
    let moved = 0;
    if (this.strategy !== "rotate" && tailOfBlock && this.cellsAfter(state, block)) {
      state.gaps.set(block, (state.gaps.get(block) ?? 0) + count);
    } else if (start + count < end) {
      // Everything after the removed cells (including this block's gap) moves down.
      this.runtime.shift(state.sequence, start + count, -1, -count);
      this.pendingShift = true;
      moved = this.length(state.id) - this.cellsBefore(state, start);
    }
    this.observe({ kind: "remove", view: state.id, block, tokens: count, movedCells: moved });
  }

  /** Closes a block's gap: the cells after it move down. */
  private closeGap(state: ViewState, block: string): void {
    const gap = state.gaps.get(block) ?? 0;
    if (gap === 0) return;
    const tail = this.blockStart(state.id, block) + (state.lengths.get(block) ?? 0) + gap;
    state.gaps.set(block, 0);
    if (this.cellsAfter(state, block)) {
      this.runtime.shift(state.sequence, tail, -1, -gap);
      this.pendingShift = true;
    }
  }

  /** Closes every gap of every view, so each view is contiguous again (before merging blocks). */
  closeGaps(): void {
    for (const state of this.views.values()) {
      for (const block of [...state.blocks].reverse()) this.closeGap(state, block);
    }
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
    if (blocks.slice(0, -1).some((b) => (state.gaps.get(b) ?? 0) > 0))
      throw new DuetError(
        "invalid-argument",
        `Blocks ${blocks.join(", ")} have gaps between them; close them first.`,
      );
    const total = blocks.reduce((n, b) => n + (state.lengths.get(b) ?? 0), 0);
    const trailingGap = state.gaps.get(blocks[blocks.length - 1]!) ?? 0;
    for (const b of blocks) {
      if (b !== into) state.lengths.delete(b);
      state.gaps.delete(b);
    }
    state.lengths.set(into, total);
    if (trailingGap > 0) state.gaps.set(into, trailingGap);
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
    const start = this.end(state);
    const free = this.freeCells(view);
    if (question.length > free) throw new ContextFullError(view, question.length, free);
    const [logits] = await this.runtime.decode([
      { sequence: state.sequence, firstPosition: start, tokens: question, logitIndex: question.length - 1 },
    ]);
    this.finishDecode();
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

  /** The positions of a view's cells, in reading order (gaps leave holes). */
  viewPositions(view: string): number[] {
    const state = this.view(view);
    const positions: number[] = [];
    let offset = 0;
    for (const id of state.blocks) {
      const held = state.lengths.get(id) ?? 0;
      for (let i = 0; i < held; i++) positions.push(offset + i);
      offset += held + (state.gaps.get(id) ?? 0);
    }
    return positions;
  }

  /** Checks the runtime's positions against the table: each view spans its first to its last cell. */
  verify(): void {
    for (const view of this.views.values()) {
      const { min, max } = this.runtime.positions(view.sequence);
      const positions = this.viewPositions(view.id);
      const ok =
        positions.length === 0 ? max < 0 : min === positions[0] && max === positions[positions.length - 1];
      if (!ok) {
        throw new DuetError(
          "adapter-incompatible",
          `View ${view.id} spans [${min}, ${max}] but its blocks hold ${positions.length} tokens` +
            (positions.length > 0 ? ` at [${positions[0]}, ${positions[positions.length - 1]}].` : "."),
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
