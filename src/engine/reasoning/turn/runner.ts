import { DuetError, isDuetError } from "../../errors.js";
import type { LogitsRef, Token } from "../../llama/types.js";
import { stepMetrics } from "../../metrics/delays.js";
import { EventChannel, Wakeup } from "../eventChannel.js";
import type { AnswerToken, EndReason, ReasonerState, TurnEvent, TurnMetrics, TurnResult } from "../events.js";
import type { StreamName } from "../layout.js";
import { ContextFullError, type Placement } from "../viewCache.js";
import type { TurnEnvironment } from "./environment.js";
import { Listening, type TurnControl } from "./listening.js";
import { MirrorScheduler } from "./mirroring.js";
import { Prober } from "./probe.js";
import { retryDroppingHistory } from "./room.js";
import { makeStream, type Stream } from "./streams.js";

/** Extra steps a writer in mid-sentence gets at the end of the budget. */
const SENTENCE_GRACE_STEPS = 32;
const SENTENCE_END = /[.!?]["')\]]*\s*$|\n\s*$/;

/** An operation from outside, queued and applied between steps (only the loop touches the cache). */
export type ExternalOperation =
  | { kind: "input"; text: string | undefined; final: boolean }
  | { kind: "truncate"; heardTokens: number }
  | { kind: "interject"; text: string }
  | { kind: "stop" };

/**
 * One turn of asynchronous reasoning: the step loop and the state machine of docs/method.md
 * ("The generation loop"). Its parts live beside it: when mirrors are decoded (mirroring.ts), the
 * yes/no question (probe.ts), new words from the user (listening.ts).
 */
export class TurnRunner implements TurnControl {
  readonly channel = new EventChannel<TurnEvent>();
  readonly result: Promise<TurnResult>;
  readonly thinker: Stream;
  readonly writer: Stream;

  private readonly start: number;
  private stateValue: ReasonerState;
  private step = 0;
  private readonly operations: ExternalOperation[] = [];
  private readonly wakeup = new Wakeup();
  private readonly answerTrace: AnswerToken[] = [];
  private readonly mirror: MirrorScheduler;
  private readonly prober: Prober;
  private readonly listening: Listening;
  private probeRequested = false;
  private prefillMs = 0;
  private loopStart = 0;
  private readonly shiftPassesAtStart: number;
  /** Why the first words could not be taken (thrown when the turn runs). */
  private inputError: unknown;

  constructor(
    private readonly env: TurnEnvironment,
    initialText: string,
    inputOpen: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.start = env.now();
    this.shiftPassesAtStart = env.cache.shiftPasses;
    this.thinker = makeStream(env, "thinker");
    this.writer = makeStream(env, "writer");
    if (env.mode === "thinking") {
      // The answer starts with the thinker's `</think>` (set at the hand-over), not a starter of its own.
      this.writer.pending = [];
      this.writer.starter = [];
    }
    if (env.mode === "nothinking") this.thinker.finished = true;
    this.stateValue = env.mode === "nothinking" ? "writer_only" : "thinker_only";
    this.mirror = new MirrorScheduler(env.cache, env.tokenizer, env.options.mirror, env.layout);
    this.prober = new Prober(env, this.mirror, (placements) => this.placeWithRoom(placements));
    this.listening = new Listening(env, this, inputOpen);
    try {
      this.listening.setUserText(initialText);
    } catch (error) {
      // Reported as the turn's error (like every other failure of a started turn).
      this.inputError = error;
    }
    this.result = this.run();
  }

  // ---- what listening and the public handle use ----

  get state(): ReasonerState {
    return this.stateValue;
  }

  enqueue(operation: ExternalOperation): void {
    this.operations.push(operation);
    this.wakeup.notify();
  }

  get isInputOpen(): boolean {
    return this.listening.inputOpen;
  }

  get supportsInterjection(): boolean {
    return this.env.mode === "async";
  }

  emit(event: TurnEvent): void {
    this.channel.push(event);
  }

  at(): { timeMs: number; step: number } {
    return { timeMs: this.elapsed(), step: this.step };
  }

  setState(state: ReasonerState, reason: string): void {
    if (state === this.stateValue) return;
    const previous = this.stateValue;
    this.stateValue = state;
    this.emit({ type: "state", state, previous, reason, ...this.at() });
  }

  requestProbe(): void {
    this.probeRequested = true;
  }

  truncateAnswerTrace(kept: number): void {
    this.answerTrace.length = Math.min(this.answerTrace.length, kept);
  }

  // ---- the loop ----

  private elapsed(): number {
    return this.env.now() - this.start;
  }

  private async run(): Promise<TurnResult> {
    let reason: EndReason;
    let error: TurnResult["error"];
    this.env.setCacheObserver((operation) => {
      if (operation.kind !== "append") this.emit({ type: "cache", operation, ...this.at() });
    });
    try {
      this.emit({
        type: "start",
        mode: this.env.mode,
        layout: this.env.options.layout,
        turn: this.env.turnNumber,
        thoughtSharing: this.env.options.thoughtSharing,
        placement: this.env.cache.strategy,
        ...this.at(),
      });
      if (this.inputError !== undefined) throw this.inputError;
      await this.prefill();
      this.emit({
        type: "state",
        state: this.stateValue,
        previous: null,
        reason: "turn started",
        ...this.at(),
      });
      this.loopStart = this.env.now();
      reason = await this.loop();
    } catch (caught) {
      if (this.signal?.aborted || isDuetError(caught, "aborted")) {
        reason = "cancelled";
      } else {
        reason = "error";
        error = {
          code: isDuetError(caught) ? caught.code : "internal",
          message: caught instanceof Error ? caught.message : String(caught),
        };
      }
    } finally {
      this.env.setCacheObserver(undefined);
    }
    const metrics = this.metrics(reason);
    this.emit({ type: "end", reason, metrics, ...(error ? { error } : {}), ...this.at() });
    this.channel.close();
    for (const stream of [this.thinker, this.writer]) stream.sampler.dispose();
    return {
      answer: this.writer.text.text,
      thoughts: this.thinker.text.text,
      answerTokens: this.answerTrace.slice(0, this.writer.output.length),
      metrics,
      ...(error ? { error } : {}),
    };
  }

  private async prefill(): Promise<void> {
    const started = this.env.now();
    const { cache } = this.env;
    const placements: Placement[] = cache
      .viewIds()
      .flatMap((view) => cache.backlog(view).map(({ block, tokens }) => ({ view, block, tokens })));
    const tokens = placements.reduce((n, p) => n + p.tokens.length, 0);
    try {
      await this.placeWithRoom(placements);
    } catch (error) {
      if (!(error instanceof ContextFullError)) throw error;
      const longest = cache
        .viewIds()
        .reduce((n, v) => Math.max(n, cache.length(v) + cache.backlogSize(v)), 0);
      throw new DuetError(
        "context-overflow",
        `The context (${cache.contextSize} cells per view) is too small for this turn's prompt (${longest} tokens). ` +
          "Choose a larger context size, or a shorter question.",
      );
    }
    this.prefillMs = this.env.now() - started;
    this.emit({ type: "prefill", tokens, durationMs: this.prefillMs, ...this.at() });
  }

  private async loop(): Promise<EndReason> {
    for (;;) {
      if (this.signal?.aborted) return "cancelled";
      const ended = this.applyOperations();
      if (ended) return ended;
      if (this.budgetSpent()) return "budget";
      this.wrapUpNearBudget();

      const active = this.activeStreams();
      if (active.length === 0) {
        await this.wakeup.wait(this.signal);
        continue;
      }
      let logits: Map<StreamName, LogitsRef>;
      try {
        const catchUp = this.mirror.catchUpPlacements(active);
        if (catchUp.length > 0) await this.placeWithRoom(catchUp);
        logits = await this.decodeStep(active);
      } catch (error) {
        if (!(error instanceof ContextFullError)) throw error;
        // No history left to drop: the thinker stops first; if the answer itself has no room, the turn ends.
        if (this.thinker.finished) return "context-full";
        this.finishThinker("the context is full: thinking stops");
        continue;
      }
      this.step++;
      if (active.includes(this.writer)) this.mirror.recordLag(this.thinker, this.writer);
      if (active.includes(this.thinker))
        this.listening.seenByThinker = this.env.cache.blockLength(this.thinker.home, "user");
      const sampled = new Map<StreamName, Token>();
      for (const stream of active) {
        sampled.set(stream.name, await this.env.sample(logits.get(stream.name)!, stream.sampler));
      }
      for (const stream of [this.thinker, this.writer]) stream.activeLastStep = active.includes(stream);
      const finished = await this.afterStep(sampled);
      if (finished) return finished;
    }
  }

  /** Steps before the budget's end at which thinking stops so the answer can wrap up. */
  private get wrapUpReserve(): number {
    return Math.min(64, Math.floor(this.env.maxSteps / 8));
  }

  /**
   * Near the end of the step budget the thinker stops, so the writer says what the thoughts reached
   * instead of being cut off mid-thought.
   */
  private wrapUpNearBudget(): void {
    const reserve = this.wrapUpReserve;
    if (reserve === 0 || this.thinker.finished || this.writer.finished) return;
    if (
      this.step >= this.env.maxSteps - reserve &&
      this.listening.userTokenCount > 0 &&
      !this.listening.inputOpen
    )
      this.finishThinker("the step budget is nearly spent: the answer wraps up");
  }

  /**
   * The budget is spent, except that a writer in mid-sentence may finish it (at most
   * `SENTENCE_GRACE_STEPS` more steps).
   */
  private budgetSpent(): boolean {
    if (this.step < this.env.maxSteps) return false;
    const speaking =
      this.stateValue !== "thinker_only" && !this.writer.finished && this.writer.output.length > 0;
    if (!speaking || this.step >= this.env.maxSteps + SENTENCE_GRACE_STEPS) return true;
    return SENTENCE_END.test(this.writer.text.tail(3));
  }

  private activeStreams(): Stream[] {
    const userSaidSomething = this.listening.userTokenCount > 0;
    const inputOpen = this.listening.inputOpen;
    const thinkerMay =
      !this.thinker.finished && userSaidSomething && (!inputOpen || this.env.options.thinkWhileListening);
    const writerMay = !this.writer.finished && !inputOpen && !this.listening.writerHeld && userSaidSomething;
    const active: Stream[] = [];
    if (this.stateValue !== "writer_only" && thinkerMay) active.push(this.thinker);
    if (this.stateValue !== "thinker_only" && writerMay) active.push(this.writer);
    return active;
  }

  private async decodeStep(active: Stream[]): Promise<Map<StreamName, LogitsRef>> {
    const { cache } = this.env;
    const placements = this.mirror.stepPlacements(active);
    let refs: Array<LogitsRef | undefined>;
    try {
      refs = await this.placeWithRoom(placements);
    } catch (error) {
      // Nothing was decoded: take the pending tokens back out of the blocks.
      for (const stream of active) {
        const content = cache.tokens(stream.block);
        cache.truncateBlock(stream.block, content.length - stream.pending.length);
      }
      throw error;
    }
    const logits = new Map<StreamName, LogitsRef>();
    active.forEach((stream, i) => {
      logits.set(stream.name, refs[i]!);
      stream.pending = [];
    });
    return logits;
  }

  /** Places tokens; when a view is full, drops the oldest history turns, then gives up with ContextFullError. */
  private placeWithRoom(placements: Placement[]): Promise<Array<LogitsRef | undefined>> {
    return retryDroppingHistory(
      () => this.env.cache.place(placements),
      () => this.env.dropOldestHistoryTurn(),
      () => this.emit({ type: "history", droppedTurns: 1, reason: "context full", ...this.at() }),
    );
  }

  private async afterStep(sampled: Map<StreamName, Token>): Promise<EndReason | undefined> {
    const { vocabulary, tokenizer } = this.env;
    const timeMs = this.elapsed();

    const thought = sampled.get("thinker");
    let thinkerParagraphEnd = false;
    if (thought !== undefined) {
      if (thought === vocabulary.thinkClose || tokenizer.isEndOfGeneration(thought)) {
        this.finishThinker("the thinker finished");
      } else {
        this.thinker.output.push(thought);
        this.thinker.pending = [thought];
        const text = this.thinker.text.push(thought);
        this.emit({
          type: "thought",
          text,
          token: thought,
          index: this.thinker.output.length - 1,
          step: this.step,
          timeMs,
        });
        thinkerParagraphEnd = this.thinker.text.tail(2).endsWith("\n\n");
      }
    }

    const word = sampled.get("writer");
    if (word !== undefined) {
      if (tokenizer.isEndOfGeneration(word)) {
        this.writer.finished = true;
        return "end-of-turn";
      }
      this.writer.output.push(word);
      this.writer.pending = [word];
      const text = this.writer.text.push(word);
      this.answerTrace.push({ token: word, text, timeMs, step: this.step });
      this.emit({
        type: "answer",
        text,
        token: word,
        index: this.writer.output.length - 1,
        step: this.step,
        timeMs,
      });
      if (this.stateValue === "thinker_and_writer" && this.writer.text.tail(2).endsWith("\n\n")) {
        this.setState("thinker_only", "the writer ended a paragraph");
      }
    }

    const probeDue =
      this.step % this.env.options.probeInterval === 0 || thinkerParagraphEnd || this.probeRequested;
    if (
      this.env.mode === "async" &&
      this.stateValue !== "writer_only" &&
      !this.thinker.finished &&
      probeDue
    ) {
      this.probeRequested = false;
      // Every stream that may decode next reads everything first: a writer let go on sees all thoughts so far.
      const readers = [this.thinker, this.writer].filter((s) => !s.finished).map((s) => s.home);
      let outcome;
      try {
        outcome = await this.prober.ask(readers);
      } catch (error) {
        // No room left even for the question: thinking cannot go on either.
        if (!(error instanceof ContextFullError)) throw error;
        this.finishThinker("the context is full: thinking stops");
        return undefined;
      }
      const { yes, pYes, pNo, forced, durationMs } = outcome;
      this.emit({ type: "probe", pYes, pNo, decision: yes ? "yes" : "no", forced, durationMs, ...this.at() });
      this.setState(yes ? "thinker_and_writer" : "thinker_only", yes ? "probe said yes" : "probe said no");
    }
    return undefined;
  }

  private finishThinker(reason: string): void {
    this.thinker.finished = true;
    this.thinker.pending = [];
    if (this.env.mode === "thinking") {
      // Sequential baseline: `</think>` is fed as the first token of the answer block.
      this.writer.pending = [this.env.vocabulary.thinkClose];
      this.writer.starter = [this.env.vocabulary.thinkClose];
    }
    this.mirror.requireSync(this.writer.home);
    this.setState("writer_only", reason);
  }

  // ---- operations from outside ----

  private applyOperations(): EndReason | undefined {
    while (this.operations.length > 0) {
      const operation = this.operations.shift()!;
      switch (operation.kind) {
        case "input": {
          if (operation.text !== undefined) this.listening.setUserText(operation.text);
          const text = this.env.tokenizer.detokenize(this.env.cache.tokens("user"));
          this.emit({
            type: "input",
            text,
            tokens: this.listening.userTokenCount,
            final: operation.final,
            ...this.at(),
          });
          if (operation.final) {
            this.listening.closeInput();
            if (this.listening.userTokenCount === 0) return "cancelled";
          }
          break;
        }
        case "truncate":
          this.listening.truncateAnswer(operation.heardTokens);
          break;
        case "interject":
          this.listening.interject(operation.text);
          break;
        case "stop":
          return "cancelled";
      }
    }
    return undefined;
  }

  private metrics(endReason: EndReason): TurnMetrics {
    const end = this.env.now();
    const loopMs = this.loopStart ? end - this.loopStart : 0;
    const steps = stepMetrics(this.answerTrace.slice(0, this.writer.output.length));
    const lag = this.mirror.lag;
    return {
      ttftMs: steps.ttftMs,
      stft: steps.stft,
      stepsDelay: steps.stepsDelay,
      steps: this.step,
      thinkerTokens: this.thinker.output.length,
      writerTokens: this.writer.output.length,
      endReason,
      totalMs: end - this.start,
      prefillMs: this.prefillMs,
      stepsPerSecond: loopMs > 0 ? (this.step * 1000) / loopMs : 0,
      probes: this.prober.probes,
      probeMs: this.prober.probeMs,
      mirroredTokens: this.mirror.mirroredTokens,
      shiftPasses: this.env.cache.shiftPasses - this.shiftPassesAtStart,
      thoughtLagMean: lag.mean,
      thoughtLagMax: lag.max,
    };
  }

  /** What the turn leaves for history: the user's tokens and the answer (output tokens, fed or not). */
  get outcome(): { userTokens: Token[]; answerTokens: Token[] } {
    return {
      userTokens: [...this.env.cache.tokens("user")],
      answerTokens: [...this.writer.output],
    };
  }
}
