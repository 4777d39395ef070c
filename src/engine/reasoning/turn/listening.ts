import { appendAll } from "../../../shared/arrays.js";
import { DuetError } from "../../errors.js";
import type { ReasonerState, TurnEvent } from "../events.js";
import { tokenizeUserText } from "../tokens.js";
import type { TurnEnvironment } from "./environment.js";
import type { Stream } from "./streams.js";

/** What listening needs from the turn that runs it. */
export interface TurnControl {
  readonly thinker: Stream;
  readonly writer: Stream;
  readonly state: ReasonerState;
  setState(state: ReasonerState, reason: string): void;
  emit(event: TurnEvent): void;
  at(): { timeMs: number; step: number };
  /** Ask the probe at the next step, whatever the interval. */
  requestProbe(): void;
  /** Forget the answer trace past `kept` tokens. */
  truncateAnswerTrace(kept: number): void;
}

/**
 * New words from the user while the turn runs (docs/method.md, "Listening"): the user's words
 * growing or corrected while they speak, the answer cut at what was heard when they talk over
 * it, and new words entered as a marked interjection that both streams see.
 */
export class Listening {
  /** The user is still speaking: the writer may not start. */
  inputOpen: boolean;
  /** The answer was cut by a barge-in and waits for the new words. */
  writerHeld = false;
  userTokenCount = 0;
  /** User tokens the thinker's view held at its last decode: words it has reasoned about. */
  seenByThinker = 0;
  private lastDropped = 0;

  constructor(
    private readonly env: TurnEnvironment,
    private readonly turn: TurnControl,
    inputOpen: boolean,
  ) {
    this.inputOpen = inputOpen;
  }

  /**
   * The user's words so far: keeps the common token prefix and replaces the rest. When words the
   * thinker already reasoned about change, a short marked note tells it, as an interjection does.
   */
  setUserText(text: string): void {
    const { cache, tokenizer, family } = this.env;
    const tokens = tokenizeUserText(tokenizer, family, text);
    this.assertFitsContext(tokens.length, "question");
    const current = cache.tokens("user");
    let common = 0;
    while (common < current.length && common < tokens.length && current[common] === tokens[common]) common++;
    const corrected = common < Math.min(current.length, this.seenByThinker);
    const before = corrected ? tokenizer.detokenize(current) : "";
    cache.truncateBlock("user", common);
    cache.extend("user", tokens.slice(common));
    this.userTokenCount = tokens.length;
    const thinker = this.turn.thinker;
    if (corrected && !thinker.finished && thinker.output.length > 0) {
      // The pending token is fed before the note.
      appendAll(
        thinker.pending,
        tokenizeUserText(tokenizer, family, family.correction(before.trim(), text.trim())),
      );
    }
  }

  /** The user finished speaking: from now on the writer may speak, once a probe over the whole question allows it. */
  closeInput(): void {
    this.inputOpen = false;
    if (this.env.mode === "async" && this.turn.state === "thinker_and_writer") {
      // A "yes" given while the question was incomplete does not carry over.
      this.turn.setState("thinker_only", "the question is complete: waiting for a probe over all of it");
    }
    if (this.env.mode === "async") this.turn.requestProbe();
  }

  /**
   * Keeps only the first `heard` answer tokens (what the user actually heard). The last kept
   * token becomes pending again, so the writer resumes from it once allowed.
   */
  truncateAnswer(heard: number): void {
    const { cache } = this.env;
    const writer = this.turn.writer;
    const kept = Math.max(0, Math.min(heard, writer.output.length));
    const dropped = writer.output.length - kept;
    const fed = cache.tokens(writer.block).length; // starter + fed output
    const keepInCache = kept > 0 ? writer.starter.length + kept - 1 : 0;
    if (fed > keepInCache) cache.truncateBlock(writer.block, keepInCache);
    writer.pending = kept > 0 ? [writer.output[kept - 1]!] : [...writer.starter];
    writer.output.length = kept;
    writer.text.truncate(kept);
    this.turn.truncateAnswerTrace(kept);
    writer.finished = false;
    writer.activeLastStep = false;
    this.writerHeld = true;
    if (this.turn.state === "thinker_and_writer")
      this.turn.setState("thinker_only", "the answer was interrupted");
    this.lastDropped = dropped;
    this.turn.emit({
      type: "truncate",
      keptAnswerTokens: kept,
      droppedAnswerTokens: dropped,
      ...this.turn.at(),
    });
  }

  /**
   * Words that cannot fit even with every earlier turn dropped: they alone need more cells than
   * the context has beside this turn's instructions (the prompt blocks of the fullest view).
   * Checked before the words reach the cache, so nothing is decoded and the history is kept.
   */
  private assertFitsContext(tokens: number, what: "question" | "interjection"): void {
    const { cache, layout } = this.env;
    const prompts = new Set(layout.blocks.filter((b) => b.source.kind === "prompt").map((b) => b.id));
    let instructions = 0;
    for (const view of layout.views) {
      let inView = 0;
      for (const block of view.blocks) if (prompts.has(block)) inView += cache.tokens(block).length;
      instructions = Math.max(instructions, inView);
    }
    const room = cache.contextSize - instructions;
    // A context too small for the instructions alone is reported by the prefill, which names it.
    if (tokens <= room || room <= 0) return;
    const words = what === "question" ? "Your question is" : "What you added is";
    throw new DuetError(
      "context-overflow",
      `${words} too long for the context: it takes ${tokens} tokens, and the model's context has room ` +
        `for ${room} (${cache.contextSize} cells, ${instructions} of them for the instructions). ` +
        "Shorten it, or choose a larger context size.",
    );
  }

  /** New words after the turn started: marked input at the end of the thoughts, seen by both streams. */
  interject(text: string): void {
    const { tokenizer, family } = this.env;
    const tokens = tokenizeUserText(tokenizer, family, family.interjection(text));
    this.assertFitsContext(tokens.length, "interjection");
    if (!this.writerHeld) this.truncateAnswer(this.turn.writer.output.length);
    const dropped = this.lastDropped;
    const thinker = this.turn.thinker;
    if (thinker.finished) {
      // The thinker had closed its thoughts; `</think>` was never fed, so it simply goes on.
      thinker.finished = false;
      thinker.pending = [];
    }
    // The pending token is fed before the injected ones.
    appendAll(thinker.pending, tokens);
    thinker.activeLastStep = false;
    this.writerHeld = false;
    this.turn.setState("thinker_only", "the user interjected");
    this.turn.emit({
      type: "interjection",
      text,
      keptAnswerTokens: this.turn.writer.output.length,
      droppedAnswerTokens: dropped,
      ...this.turn.at(),
    });
  }
}
