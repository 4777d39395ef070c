import type { Token } from "../../llama/types.js";
import type { Placement } from "../viewCache.js";
import { tokenizeMarkup } from "../tokens.js";
import type { TurnEnvironment } from "./environment.js";
import type { MirrorScheduler } from "./mirroring.js";
import { retryDroppingHistory } from "./room.js";

export interface ProbeOutcome {
  yes: boolean;
  pYes: number;
  pNo: number;
  /** The answer was forced by the options (ablations, tests), not asked of the model. */
  forced: boolean;
  durationMs: number;
}

/**
 * The yes/no question that decides whether the writer may go on (docs/method.md, "The probe"):
 * appended to the probe view, read, and removed without a trace. Before asking, every view that
 * may decode next is brought up to date (one K-shift pass for all), so a writer that the answer
 * lets go on speaks from every thought written so far.
 */
export class Prober {
  probes = 0;
  probeMs = 0;
  /** The question's tokens, tokenized at the first model probe (fixed for the turn). */
  private question: Token[] | undefined;

  constructor(
    private readonly env: TurnEnvironment,
    private readonly mirror: MirrorScheduler,
    private readonly place: (placements: Placement[]) => Promise<unknown>,
  ) {}

  /** Syncs `readers` (the views that may decode next), then asks. Throws ContextFullError when nothing fits. */
  async ask(readers: readonly string[]): Promise<ProbeOutcome> {
    const { options, layout, cache, vocabulary, tokenizer, family } = this.env;
    const started = this.env.now();
    this.probes++;
    const view = layout.probe?.view;
    // A sync point, for forced answers too, so a forced run keeps the real mirroring schedule.
    if (view && options.probeSeesLatestAnswer) {
      const placements = this.mirror.syncPlacements([view, ...readers]);
      if (placements.length > 0) await this.place(placements);
    }
    if (options.probe !== "model" || !view || !layout.probe) {
      const yes = options.probe === "yes";
      return { yes, pYes: yes ? 1 : 0, pNo: yes ? 0 : 1, forced: true, durationMs: this.env.now() - started };
    }
    this.question ??= tokenizeMarkup(tokenizer, family.probeQuestion(layout.probe.style, options));
    const question = this.question;
    const candidates = await retryDroppingHistory(
      () => cache.probe(view, question, options.probeTopK),
      () => this.env.dropOldestHistoryTurn(),
    );
    const mass = (ids: readonly Token[]): number =>
      candidates.tokens.reduce(
        (sum, t, i) => (ids.includes(t) ? sum + candidates.probabilities[i]! : sum),
        0,
      );
    // Comparing summed probabilities is comparing log-sum-exp over the spellings.
    const pYes = mass(vocabulary.yes);
    const pNo = mass(vocabulary.no);
    const durationMs = this.env.now() - started;
    this.probeMs += durationMs;
    return { yes: pYes > pNo, pYes, pNo, forced: false, durationMs };
  }
}
