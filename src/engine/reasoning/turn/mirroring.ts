import { appendAll } from "../../../shared/arrays.js";
import { outputBlocks } from "../layout.js";
import type { MirrorPolicy } from "../options.js";
import type { Placement, ViewCache } from "../viewCache.js";
import type { TokenizerInfo } from "../../llama/types.js";
import type { Stream } from "./streams.js";

type Backlog = ReturnType<ViewCache["backlog"]>;

const PHRASE_END = /([.!?;:,]["')\]]*\s*|\n\s*)$/;

/**
 * When one stream's tokens reach the other stream's view (docs/method.md, "Mirroring"). A token
 * is computed in its own stream's view and decoded again into every other view that shows its
 * block; in the middle of a view that costs a K-shift pass over the cache at the next decode, so
 * the policy may wait for a chunk. Thought lag (thoughts the writer does not see yet) is measured
 * at every writer decode.
 */
export class MirrorScheduler {
  /** Tokens decoded a second time into another view. */
  mirroredTokens = 0;
  /** Views that must read their whole backlog before their stream's next token. */
  private readonly forceSync = new Set<string>();
  private readonly outputs: ReadonlySet<string>;
  private lagSum = 0;
  private lagMax = 0;
  private lagCount = 0;

  constructor(
    private readonly cache: ViewCache,
    private readonly tokenizer: TokenizerInfo,
    private readonly policy: MirrorPolicy,
    layout: Parameters<typeof outputBlocks>[0],
  ) {
    this.outputs = outputBlocks(layout);
  }

  /** The view's stream reads everything it misses before its next token (after a pause or a probe). */
  requireSync(view: string): void {
    this.forceSync.add(view);
  }

  /** Placements of a view's backlog (less `exclude`d blocks), at most `limit` tokens. */
  backlogPlacements(
    view: string,
    exclude: ReadonlySet<string>,
    limit: number,
    backlog: Backlog = this.cache.backlog(view),
  ): Placement[] {
    const placements: Placement[] = [];
    let room = limit;
    for (const { block, tokens } of backlog) {
      if (exclude.has(block) || room <= 0) continue;
      const take = tokens.slice(0, Math.min(tokens.length, room));
      room -= take.length;
      placements.push({ view, block, tokens: take });
      if (this.outputs.has(block)) this.mirroredTokens += take.length;
    }
    return placements;
  }

  /** Whether a view's waiting mirror tokens (its backlog less `exclude`) are due now. */
  private due(viewBacklog: Backlog, exclude: ReadonlySet<string>): boolean {
    const backlog = viewBacklog.filter((b) => !exclude.has(b.block));
    if (backlog.length === 0) return false;
    // Listening updates and linkers are shown at once; only output mirrors may wait for a chunk.
    if (backlog.some((b) => !this.outputs.has(b.block))) return true;
    const size = backlog.reduce((n, b) => n + b.tokens.length, 0);
    if (!this.policy.lazy || size >= this.policy.chunkTokens) return true;
    if (this.policy.phraseMinTokens > 0 && size >= this.policy.phraseMinTokens) {
      const last = backlog[backlog.length - 1]!.tokens;
      return PHRASE_END.test(this.tokenizer.detokenize(last.slice(-2)));
    }
    return false;
  }

  /**
   * Streams that did not decode in the last step (or whose view must be synced) read everything
   * they missed first, in a decode of their own, so their next token sees it.
   */
  catchUpPlacements(active: readonly Stream[]): Placement[] {
    const placements: Placement[] = [];
    for (const stream of active) {
      if (stream.activeLastStep && !this.forceSync.has(stream.home)) continue;
      this.forceSync.delete(stream.home);
      appendAll(placements, this.backlogPlacements(stream.home, new Set([stream.block]), Infinity));
    }
    return placements;
  }

  /**
   * One step's placements: each active stream's pending tokens at the end of its view (with
   * logits), then the mirrors that are due, in the same batch. The own tokens do not see those
   * mirrors; the next step does.
   */
  stepPlacements(active: readonly Stream[]): Placement[] {
    const placements: Placement[] = [];
    for (const stream of active) {
      this.cache.extend(stream.block, stream.pending);
      placements.push({ view: stream.home, block: stream.block, tokens: stream.pending, logits: true });
    }
    const limit = Math.max(64, this.policy.chunkTokens * 2);
    for (const view of new Set(active.map((s) => s.home))) {
      // In its home view a stream's own block is placed above; every other block there is a mirror.
      const own = new Set(active.filter((s) => s.home === view).map((s) => s.block));
      const backlog = this.cache.backlog(view);
      if (this.due(backlog, own)) appendAll(placements, this.backlogPlacements(view, own, limit, backlog));
    }
    return placements;
  }

  /** Everything each of these views misses (a sync point: one K-shift pass for all of them). */
  syncPlacements(views: Iterable<string>): Placement[] {
    return [...new Set(views)].flatMap((view) => this.backlogPlacements(view, new Set(), Infinity));
  }

  /**
   * Records the thought lag at a writer decode: thoughts the thinker has in its own view that the
   * writer's view does not hold yet. 0 when both streams share one view.
   */
  recordLag(thinker: Stream, writer: Stream): void {
    const lag =
      thinker.home === writer.home
        ? 0
        : Math.max(
            0,
            this.cache.blockLength(thinker.home, thinker.block) -
              this.cache.blockLength(writer.home, thinker.block),
          );
    this.lagSum += lag;
    this.lagMax = Math.max(this.lagMax, lag);
    this.lagCount++;
  }

  /** Mean and maximum thought lag over the turn's writer decodes (0 when the writer never decoded). */
  get lag(): { mean: number; max: number } {
    return { mean: this.lagCount > 0 ? this.lagSum / this.lagCount : 0, max: this.lagMax };
  }
}
