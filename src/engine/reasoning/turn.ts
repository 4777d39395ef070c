import { appendAll, maxOf } from "../../shared/arrays.js";
import { DuetError, isDuetError } from "../errors.js";
import type { LogitsRef, Token, TokenSampler, TokenizerInfo } from "../llama/types.js";
import { stepMetrics } from "../metrics/delays.js";
import { EventChannel, Wakeup } from "./channel.js";
import type {
  AnswerToken,
  EndReason,
  ReasonerState,
  ReasoningMode,
  TurnEvent,
  TurnMetrics,
  TurnResult,
} from "./events.js";
import type { LayoutSpec, StreamName } from "./layout.js";
import type { ResolvedReasonerOptions } from "./options.js";
import type { PromptFamily } from "./promptFamily.js";
import { TextAssembler, tokenizeMarkup, tokenizeUserText, type StreamVocabulary } from "./tokens.js";
import { ContextFullError, type CacheOperation, type Placement, type ViewCache } from "./viewCache.js";

/** What the engine hands a turn: the shared cache, the model's vocabulary and the conversation's policies. */
export interface TurnEnvironment {
  cache: ViewCache;
  tokenizer: TokenizerInfo;
  family: PromptFamily;
  vocabulary: StreamVocabulary;
  layout: LayoutSpec;
  options: ResolvedReasonerOptions;
  mode: ReasoningMode;
  maxSteps: number;
  turnNumber: number;
  createSampler(stream: StreamName): TokenSampler;
  sample(logits: LogitsRef, sampler: TokenSampler): Promise<Token>;
  /** Frees cells by dropping the oldest history turn; false when there is none. */
  dropOldestHistoryTurn(): boolean;
  /** Cache operations are reported here while the turn runs. */
  setCacheObserver(observer: ((operation: CacheOperation) => void) | undefined): void;
  /** The runtime clock, ms. */
  now(): number;
}

interface Stream {
  readonly name: StreamName;
  readonly block: string;
  readonly home: string;
  /** Tokens to feed at the next step; logits are read after the last. */
  pending: Token[];
  /** Tokens at the start of the block that are the engine's, not the stream's output. */
  starter: Token[];
  /** Sampled output tokens, fed or pending (never end-of-generation). */
  readonly output: Token[];
  readonly text: TextAssembler;
  readonly sampler: TokenSampler;
  activeLastStep: boolean;
  finished: boolean;
}

type ExternalOperation =
  | { kind: "input"; text: string | undefined; final: boolean }
  | { kind: "truncate"; heardTokens: number }
  | { kind: "interject"; text: string }
  | { kind: "stop" };

const PHRASE_END = /([.!?;:,]["')\]]*\s*|\n\s*)$/;

type Backlog = ReturnType<ViewCache["backlog"]>;

/** Checks a count of answer tokens the user heard (a barge-in); throws for anything else. */
export function assertHeardTokens(heardTokens: number): void {
  if (!Number.isInteger(heardTokens) || heardTokens < 0) {
    throw new DuetError(
      "invalid-argument",
      `heardTokens must be a non-negative integer, got ${heardTokens}.`,
    );
  }
}

/**
 * Runs `attempt`; while it fails because a view is full, drops the oldest history turn (calling
 * `onDropped` after each drop) and tries again. Rethrows once there is no history left to drop.
 */
export async function retryDroppingHistory<T>(
  attempt: () => Promise<T>,
  dropOldestHistoryTurn: () => boolean,
  onDropped?: () => void,
): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ContextFullError) || !dropOldestHistoryTurn()) throw error;
      onDropped?.();
    }
  }
}

/**
 * One turn of asynchronous reasoning: the state machine of method.md section 4 with listening
 * (section 5). Steps run back to back; operations from outside (new words, barge-in) are queued
 * and applied between steps, so the cache is only touched by this loop.
 */
export class TurnRunner {
  readonly channel = new EventChannel<TurnEvent>();
  readonly result: Promise<TurnResult>;

  private readonly start: number;
  private state: ReasonerState;
  private step = 0;
  private inputOpen: boolean;
  private writerHeld = false;
  private readonly operations: ExternalOperation[] = [];
  private readonly wakeup = new Wakeup();
  private readonly thinker: Stream;
  private readonly writer: Stream;
  private readonly answerTrace: AnswerToken[] = [];
  private readonly forceSync = new Set<string>();
  private prefillMs = 0;
  private loopStart = 0;
  private probes = 0;
  private probeMs = 0;
  private mirroredTokens = 0;
  private shiftPassesAtStart: number;
  /** The probe question's tokens, tokenized at the first model probe (fixed for the turn). */
  private probeQuestion: Token[] | undefined;
  private userTokenCount = 0;
  private lastDropped = 0;
  /** Why the first words could not be taken (thrown when the turn runs). */
  private inputError: unknown;

  constructor(
    private readonly env: TurnEnvironment,
    initialText: string,
    inputOpen: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.start = env.now();
    this.inputOpen = inputOpen;
    this.shiftPassesAtStart = env.cache.shiftPasses;
    const { tokenizer, family, layout } = env;
    const makeStream = (name: StreamName): Stream => {
      const starter = tokenizeMarkup(tokenizer, family.starters[name]);
      return {
        name,
        block: `${name}_output`,
        home: layout.home[name],
        pending: [...starter],
        starter,
        output: [],
        text: new TextAssembler(tokenizer),
        sampler: env.createSampler(name),
        activeLastStep: false,
        finished: false,
      };
    };
    this.thinker = makeStream("thinker");
    this.writer = makeStream("writer");
    if (env.mode === "thinking") {
      // The answer starts with the thinker's `</think>` (set at the hand-over), not a starter of its own.
      this.writer.pending = [];
      this.writer.starter = [];
    }
    if (env.mode === "nothinking") this.thinker.finished = true;
    this.state = env.mode === "nothinking" ? "writer_only" : "thinker_only";
    try {
      this.setUserText(initialText);
    } catch (error) {
      // Reported as the turn's error (like every other failure of a started turn).
      this.inputError = error;
    }
    this.result = this.run();
  }

  // ---- operations from outside (validated by the public Turn handle) ----

  enqueue(operation: ExternalOperation): void {
    this.operations.push(operation);
    this.wakeup.notify();
  }

  get isInputOpen(): boolean {
    return this.inputOpen;
  }

  get supportsInterjection(): boolean {
    return this.env.mode === "async";
  }

  // ---- the loop ----

  private elapsed(): number {
    return this.env.now() - this.start;
  }

  private emit(event: TurnEvent): void {
    this.channel.push(event);
  }

  private at(): { timeMs: number; step: number } {
    return { timeMs: this.elapsed(), step: this.step };
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
        ...this.at(),
      });
      if (this.inputError !== undefined) throw this.inputError;
      await this.prefill();
      this.emit({ type: "state", state: this.state, previous: null, reason: "turn started", ...this.at() });
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
    const placements: Placement[] = [];
    for (const view of this.env.cache.viewIds()) {
      for (const { block, tokens } of this.env.cache.backlog(view)) placements.push({ view, block, tokens });
    }
    const tokens = placements.reduce((n, p) => n + p.tokens.length, 0);
    try {
      await this.placeWithRoom(placements);
    } catch (error) {
      if (!(error instanceof ContextFullError)) throw error;
      const longest = maxOf(
        this.env.cache.viewIds().map((v) => this.env.cache.length(v) + this.env.cache.backlogSize(v)),
      );
      throw new DuetError(
        "context-overflow",
        `The context (${this.env.cache.contextSize} cells per view) is too small for this turn's prompt (${longest} tokens). ` +
          "Choose a larger context size.",
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
      if (this.step >= this.env.maxSteps) return "budget";

      const active = this.activeStreams();
      if (active.length === 0) {
        await this.wakeup.wait(this.signal);
        continue;
      }
      let logits: Map<StreamName, LogitsRef>;
      try {
        await this.syncResumingStreams(active);
        logits = await this.decodeStep(active);
      } catch (error) {
        if (!(error instanceof ContextFullError)) throw error;
        // No history left to drop: the thinker stops first; if the answer itself has no room, the turn ends.
        if (this.thinker.finished) return "context-full";
        this.finishThinker("the context is full: thinking stops");
        continue;
      }
      this.step++;
      const sampled = new Map<StreamName, Token>();
      for (const stream of active) {
        sampled.set(stream.name, await this.env.sample(logits.get(stream.name)!, stream.sampler));
      }
      for (const stream of [this.thinker, this.writer]) stream.activeLastStep = active.includes(stream);
      const finished = await this.afterStep(sampled);
      if (finished) return finished;
    }
  }

  private activeStreams(): Stream[] {
    const userSaidSomething = this.userTokenCount > 0;
    const thinkerMay =
      !this.thinker.finished &&
      userSaidSomething &&
      (!this.inputOpen || this.env.options.thinkWhileListening);
    const writerMay = !this.writer.finished && !this.inputOpen && !this.writerHeld && userSaidSomething;
    const active: Stream[] = [];
    if (this.state !== "writer_only" && thinkerMay) active.push(this.thinker);
    if (this.state !== "thinker_only" && writerMay) active.push(this.writer);
    return active;
  }

  /** A stream that was paused reads everything it missed before its next token (one extra decode). */
  private async syncResumingStreams(active: Stream[]): Promise<void> {
    const placements: Placement[] = [];
    for (const stream of active) {
      if (stream.activeLastStep && !this.forceSync.has(stream.home)) continue;
      this.forceSync.delete(stream.home);
      appendAll(placements, this.backlogPlacements(stream.home, new Set([stream.block]), Infinity));
    }
    if (placements.length > 0) await this.placeWithRoom(placements);
  }

  private backlogPlacements(
    view: string,
    exclude: ReadonlySet<string>,
    limit: number,
    backlog: Backlog = this.env.cache.backlog(view),
  ): Placement[] {
    const placements: Placement[] = [];
    let room = limit;
    for (const { block, tokens } of backlog) {
      if (exclude.has(block) || room <= 0) continue;
      const take = tokens.slice(0, Math.min(tokens.length, room));
      room -= take.length;
      placements.push({ view, block, tokens: take });
      if (block.endsWith("_output")) this.mirroredTokens += take.length;
    }
    return placements;
  }

  /** Whether a view's waiting mirror tokens (its `backlog`, less the `exclude`d blocks) are due now. */
  private mirrorDue(viewBacklog: Backlog, exclude: ReadonlySet<string>): boolean {
    const backlog = viewBacklog.filter((b) => !exclude.has(b.block));
    if (backlog.length === 0) return false;
    // Listening updates and linkers are shown at once; only output mirrors wait for a chunk.
    if (backlog.some((b) => !b.block.endsWith("_output"))) return true;
    const policy = this.env.options.mirror;
    const size = backlog.reduce((n, b) => n + b.tokens.length, 0);
    if (!policy.lazy) return true;
    if (size >= policy.chunkTokens) return true;
    if (policy.phraseMinTokens > 0 && size >= policy.phraseMinTokens) {
      const last = backlog[backlog.length - 1]!.tokens;
      return PHRASE_END.test(this.env.tokenizer.detokenize(last.slice(-2)));
    }
    return false;
  }

  private async decodeStep(active: Stream[]): Promise<Map<StreamName, LogitsRef>> {
    const { cache } = this.env;
    const placements: Placement[] = [];
    for (const stream of active) {
      cache.extend(stream.block, stream.pending);
      placements.push({ view: stream.home, block: stream.block, tokens: stream.pending, logits: true });
    }
    // Mirrors ride along after the own tokens: those tokens see them from the next step on.
    const mirrorLimit = Math.max(64, this.env.options.mirror.chunkTokens * 2);
    for (const view of new Set(active.map((s) => s.home))) {
      // In its home view a stream's own block is placed above; every other block there is a mirror.
      const own = new Set(active.filter((s) => s.home === view).map((s) => s.block));
      // Nothing touches the cache between the two: read the backlog once.
      const backlog = cache.backlog(view);
      if (this.mirrorDue(backlog, own))
        appendAll(placements, this.backlogPlacements(view, own, mirrorLimit, backlog));
    }
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

  private setState(state: ReasonerState, reason: string): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit({ type: "state", state, previous, reason, ...this.at() });
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
      if (this.state === "thinker_and_writer" && this.writer.text.tail(2).endsWith("\n\n")) {
        this.setState("thinker_only", "the writer ended a paragraph");
      }
    }

    const probeDue = this.step % this.env.options.probeInterval === 0 || thinkerParagraphEnd;
    if (this.env.mode === "async" && this.state !== "writer_only" && !this.thinker.finished && probeDue) {
      let yes: boolean;
      try {
        yes = await this.probe();
      } catch (error) {
        // No room left even for the question: thinking cannot go on either.
        if (!(error instanceof ContextFullError)) throw error;
        this.finishThinker("the context is full: thinking stops");
        return undefined;
      }
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
    this.forceSync.add(this.writer.home);
    this.setState("writer_only", reason);
  }

  private async probe(): Promise<boolean> {
    const { options, layout, cache, vocabulary, tokenizer, family } = this.env;
    const started = this.env.now();
    this.probes++;
    const view = layout.probe?.view;
    // A sync point: the probe's view gets the newest answer, and the views of the streams that are
    // decoding get their mirrors in the same decode, so all of it costs one K-shift pass. It
    // happens for forced answers too, so a forced run keeps the real mirroring schedule.
    if (view && options.probeSeesLatestAnswer) {
      const readers = new Set([view, ...this.activeStreams().map((s) => s.home)]);
      const placements = [...readers].flatMap((v) => this.backlogPlacements(v, new Set(), Infinity));
      if (placements.length > 0) await this.placeWithRoom(placements);
    }
    if (options.probe !== "model" || !view || !layout.probe) {
      const yes = options.probe === "yes";
      const durationMs = this.env.now() - started;
      this.emit({
        type: "probe",
        pYes: yes ? 1 : 0,
        pNo: yes ? 0 : 1,
        decision: yes ? "yes" : "no",
        forced: true,
        durationMs,
        ...this.at(),
      });
      return yes;
    }
    this.probeQuestion ??= tokenizeMarkup(tokenizer, family.probeQuestion(layout.probe.style, options));
    const question = this.probeQuestion;
    // Unlike placements, a probe that makes room reports no history event.
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
    const yes = pYes > pNo;
    const durationMs = this.env.now() - started;
    this.probeMs += durationMs;
    this.emit({
      type: "probe",
      pYes,
      pNo,
      decision: yes ? "yes" : "no",
      forced: false,
      durationMs,
      ...this.at(),
    });
    return yes;
  }

  // ---- listening ----

  private applyOperations(): EndReason | undefined {
    while (this.operations.length > 0) {
      const operation = this.operations.shift()!;
      switch (operation.kind) {
        case "input": {
          if (operation.text !== undefined) this.setUserText(operation.text);
          const text = this.env.tokenizer.detokenize(this.env.cache.tokens("user"));
          this.emit({
            type: "input",
            text,
            tokens: this.userTokenCount,
            final: operation.final,
            ...this.at(),
          });
          if (operation.final) {
            this.inputOpen = false;
            if (this.userTokenCount === 0) return "cancelled";
          }
          break;
        }
        case "truncate":
          this.truncateAnswer(operation.heardTokens);
          break;
        case "interject":
          this.interject(operation.text);
          break;
        case "stop":
          return "cancelled";
      }
    }
    return undefined;
  }

  /** The user's words so far: keeps the common token prefix and replaces the rest. */
  private setUserText(text: string): void {
    const { cache, tokenizer, family } = this.env;
    const tokens = tokenizeUserText(tokenizer, family, text);
    this.assertFitsContext(tokens.length, "question");
    const current = cache.tokens("user");
    let common = 0;
    while (common < current.length && common < tokens.length && current[common] === tokens[common]) common++;
    cache.truncateBlock("user", common);
    cache.extend("user", tokens.slice(common));
    this.userTokenCount = tokens.length;
  }

  /**
   * Words that cannot fit even with every earlier turn dropped: they alone need more cells than
   * the context has beside this turn's instructions (the prompt blocks of the fullest view). Checked before the words reach
   * the cache, so nothing is decoded and the conversation keeps its history.
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

  /**
   * Keeps only the first `heard` answer tokens (what the user actually heard). The last kept
   * token becomes pending again, so the writer resumes from it once allowed.
   */
  private truncateAnswer(heard: number): void {
    const { cache } = this.env;
    const writer = this.writer;
    const kept = Math.max(0, Math.min(heard, writer.output.length));
    const dropped = writer.output.length - kept;
    const fed = cache.tokens(writer.block).length; // starter + fed output
    const keepInCache = kept > 0 ? writer.starter.length + kept - 1 : 0;
    if (fed > keepInCache) cache.truncateBlock(writer.block, keepInCache);
    writer.pending = kept > 0 ? [writer.output[kept - 1]!] : [...writer.starter];
    writer.output.length = kept;
    writer.text.truncate(kept);
    this.answerTrace.length = kept;
    writer.finished = false;
    writer.activeLastStep = false;
    this.writerHeld = true;
    if (this.state === "thinker_and_writer") this.setState("thinker_only", "the answer was interrupted");
    this.lastDropped = dropped;
    this.emit({ type: "truncate", keptAnswerTokens: kept, droppedAnswerTokens: dropped, ...this.at() });
  }

  /** New words after the turn started: marked input at the end of the thoughts, seen by both streams. */
  private interject(text: string): void {
    const { tokenizer, family } = this.env;
    const tokens = tokenizeUserText(tokenizer, family, family.interjection(text));
    this.assertFitsContext(tokens.length, "interjection");
    if (!this.writerHeld) this.truncateAnswer(this.writer.output.length);
    const dropped = this.lastDropped;
    const thinker = this.thinker;
    if (thinker.finished) {
      // The thinker had closed its thoughts; `</think>` was never fed, so it simply goes on.
      thinker.finished = false;
      thinker.pending = [];
    }
    // The pending token is fed before the injected ones.
    thinker.pending = [...thinker.pending, ...tokens];
    thinker.activeLastStep = false;
    this.writerHeld = false;
    this.setState("thinker_only", "the user interjected");
    this.emit({
      type: "interjection",
      text,
      keptAnswerTokens: this.writer.output.length,
      droppedAnswerTokens: dropped,
      ...this.at(),
    });
  }

  private metrics(endReason: EndReason): TurnMetrics {
    const end = this.env.now();
    const loopMs = this.loopStart ? end - this.loopStart : 0;
    const steps = stepMetrics(this.answerTrace.slice(0, this.writer.output.length));
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
      probes: this.probes,
      probeMs: this.probeMs,
      mirroredTokens: this.mirroredTokens,
      shiftPasses: this.env.cache.shiftPasses - this.shiftPassesAtStart,
    };
  }

  /** What the turn leaves for history: the user's tokens and the answer (output tokens, fed or not). */
  get outcome(): { userTokens: Token[]; answerTokens: Token[]; writerStarterCount: number } {
    return {
      userTokens: [...this.env.cache.tokens("user")],
      answerTokens: [...this.writer.output],
      writerStarterCount:
        this.env.cache.tokens(this.writer.block).length > 0 ? this.writer.starter.length : 0,
    };
  }
}

/** The handle a caller drives a turn with. */
export class Turn implements AsyncIterable<TurnEvent> {
  /** Resolves when the turn has ended and the conversation is ready for the next one. */
  readonly done: Promise<TurnResult>;

  constructor(
    private readonly runner: TurnRunner,
    done: Promise<TurnResult>,
    private readonly isFinished: () => boolean,
  ) {
    this.done = done;
  }

  [Symbol.asyncIterator](): AsyncIterator<TurnEvent> {
    return this.runner.channel[Symbol.asyncIterator]();
  }

  /** Whether new words may enter this turn mid-way (`interject`); only the async mode can take them. */
  get supportsInterjection(): boolean {
    return this.runner.supportsInterjection;
  }

  /** Calls `listener` for each event, those already emitted first; returns an unsubscribe function. */
  on(listener: (event: TurnEvent) => void): () => void {
    return this.runner.channel.subscribe(listener);
  }

  /** Every event so far. */
  get events(): readonly TurnEvent[] {
    return this.runner.channel.events;
  }

  private ensureRunning(action: string): void {
    if (this.isFinished()) throw new DuetError("invalid-argument", `Cannot ${action}: the turn has ended.`);
  }

  /** The user's words so far while they are still speaking (replaces the previous partial text). */
  updateInput(text: string): void {
    this.ensureRunning("update the input");
    if (typeof text !== "string") throw new DuetError("invalid-argument", "Input text must be a string.");
    if (!this.runner.isInputOpen)
      throw new DuetError("invalid-argument", "The user's input is already closed for this turn.");
    this.runner.enqueue({ kind: "input", text, final: false });
  }

  /** The user finished speaking; `finalText` replaces the partial text. The writer may start now. */
  closeInput(finalText?: string): void {
    this.ensureRunning("close the input");
    if (finalText !== undefined && typeof finalText !== "string")
      throw new DuetError("invalid-argument", "Input text must be a string.");
    if (!this.runner.isInputOpen)
      throw new DuetError("invalid-argument", "The user's input is already closed for this turn.");
    this.runner.enqueue({ kind: "input", text: finalText, final: true });
  }

  /**
   * Barge-in: the user was heard speaking over the answer. Keeps only the first `heardTokens`
   * answer tokens and holds the writer until `interject` brings the new words.
   */
  truncateAnswer(heardTokens: number): void {
    this.ensureRunning("truncate the answer");
    assertHeardTokens(heardTokens);
    this.runner.enqueue({ kind: "truncate", heardTokens });
  }

  /** New words from the user after the turn started; both streams see them, the writer resumes when the probe allows. */
  interject(text: string): void {
    this.ensureRunning("interject");
    if (!this.runner.supportsInterjection) {
      throw new DuetError(
        "invalid-argument",
        "Interjections need the async mode; in a baseline mode, start a new turn instead.",
      );
    }
    if (typeof text !== "string" || text.trim() === "")
      throw new DuetError("invalid-argument", "An interjection needs some words.");
    this.runner.enqueue({ kind: "interject", text: text.trim() });
  }

  /** Ends the turn now (what was said so far stays in the conversation). */
  stop(): void {
    if (this.isFinished()) return;
    this.runner.enqueue({ kind: "stop" });
  }
}
