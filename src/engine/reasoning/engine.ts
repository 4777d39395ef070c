import { appendAll } from "../../shared/arrays.js";
import { DuetError } from "../errors.js";
import { openLlama, type OpenLlamaOptions } from "../llama/adapter.js";
import type { GpuChoice, KvRuntime, ModelDescription, Token, TokenizerInfo } from "../llama/types.js";
import type { ReasoningMode, TurnResult } from "./events.js";
import {
  LAYOUTS,
  conversationBlocks,
  layoutFor,
  turnBlocks,
  validateLayout,
  type LayoutSpec,
  type StreamName,
} from "./layout.js";
import {
  assertReasoningMode,
  resolveReasonerOptions,
  type ReasonerOptions,
  type ResolvedReasonerOptions,
} from "./options.js";
import { detectPromptFamily, familyById, type PromptFamily } from "./promptFamily.js";
import { streamVocabulary, tokenizeMarkup, tokenizeUserText, type StreamVocabulary } from "./tokens.js";
import type { TurnEnvironment } from "./turn/environment.js";
import { Turn } from "./turn/handle.js";
import { assertHeardTokens, retryDroppingHistory } from "./turn/room.js";
import { TurnRunner } from "./turn/runner.js";
import { ViewCache, type CacheOperation, type PlacementStrategy } from "./viewCache.js";

export interface TurnRequest {
  /** The user's words (so far, when `inputOpen`). Default "". */
  text?: string;
  /** The user is still speaking: the thinker may start, the writer waits for `closeInput`. Default false. */
  inputOpen?: boolean;
  /** Default: the engine's mode ("async"). */
  mode?: ReasoningMode;
  /** Step budget for this turn. Default: the engine's `maxSteps`. */
  maxSteps?: number;
  /** Cancels the turn; the engine stays usable and keeps what was said. */
  signal?: AbortSignal;
}

/** What the engine needs from a loaded model. `openLlama` provides it; tests may pass fakes. */
export interface EngineBackend {
  runtime: KvRuntime;
  tokenizer: TokenizerInfo;
  description: Pick<ModelDescription, "path" | "chatTemplate"> &
    Partial<Pick<ModelDescription, "threads" | "gpu" | "gpuLayers" | "gpuDevice">>;
  dispose?(): Promise<void>;
}

export interface ReasoningEngineOptions extends ReasonerOptions {
  /** Prompt family id; default: detected from the model's chat template. */
  family?: string;
  /**
   * After a turn, decode its history entry (the user's words and the answer) afresh in plain chat
   * form, so no removed thought leaves a trace in the kept cells, when the entry has at most this
   * many tokens per view; longer entries keep the cells computed during the turn. Default 1024;
   * 0 never refreshes.
   */
  historyRefreshTokens?: number;
  /**
   * How mirrored tokens reach the middle of a view (see PlacementStrategy in viewCache.ts).
   * Default "auto": copies where the loaded llama.cpp can copy cells (Duet's own build), decoding
   * into gaps where it can only do that, and rotation on stock llama.cpp.
   */
  placement?: "auto" | PlacementStrategy;
  /** Free positions a gap is opened with (gap and copy placement). Default 64. */
  gapTokens?: number;
}

export type OpenReasoningEngineOptions = OpenLlamaOptions & ReasoningEngineOptions;

interface HistoryTurn {
  /** Tokens this turn takes in the history block. */
  length: number;
  /** Where its answer starts, counted from the turn's start. */
  answerOffset: number;
  answerLength: number;
  user: string;
  answer: string;
}

/** The chat markup around a turn in the history block. */
interface HistoryMarkup {
  userOpen: Token[];
  userClose: Token[];
  assistantClose: Token[];
}

/**
 * A loaded model that holds a conversation and runs turns of asynchronous reasoning (or the two
 * baselines) on it. The KV cache is reused across turns: thoughts are dropped, the user's words
 * and the answers stay as history. When the context fills, the oldest turns are dropped.
 */
export class ReasoningEngine {
  readonly family: PromptFamily;
  readonly options: ResolvedReasonerOptions;
  private readonly vocabulary: StreamVocabulary;
  private cache: ViewCache;
  private layout: LayoutSpec | undefined;
  private needsRebuild = true;
  private historyTokens: Token[] = [];
  private readonly turns: HistoryTurn[] = [];
  private running: TurnRunner | undefined;
  private turnCount = 0;
  private disposed = false;
  private cacheObserver: ((operation: CacheOperation) => void) | undefined;
  private readonly historyRefreshTokens: number;
  /** How mirrored tokens reach the middle of a view (chosen from the runtime at open). */
  readonly placement: PlacementStrategy;
  private readonly gapTokens: number;
  /** What the last commit cost: tokens decoded afresh into the history (all views), and the time. */
  lastHistoryRefresh: { tokens: number; ms: number } | undefined;
  /** Tokenized at first use (see `historyMarkup`). */
  private markup: HistoryMarkup | undefined;

  /** Loads a model file and opens an engine on it (two views in one context). */
  static async open(options: OpenReasoningEngineOptions): Promise<ReasoningEngine> {
    const session = await openLlama({ ...options, sequences: 2 });
    try {
      return new ReasoningEngine(session, options);
    } catch (error) {
      await session.dispose();
      throw error;
    }
  }

  constructor(
    private readonly backend: EngineBackend,
    options: ReasoningEngineOptions = {},
  ) {
    const { gpu, gpuLayers } = backend.description;
    // A GPU backend that placed no layer on the GPU (too little memory, or no device) runs on the CPU.
    const onGpu = gpu !== undefined && gpu !== false && gpu !== "cpu" && gpuLayers !== 0;
    const requested = options.placement ?? "auto";
    if (!["auto", "rotate", "gap", "copy"].includes(requested))
      throw new DuetError(
        "invalid-argument",
        `Unknown placement "${String(requested)}": use auto, rotate, gap or copy.`,
      );
    this.placement = requested === "auto" ? ViewCache.bestStrategy(backend.runtime) : requested;
    this.gapTokens = options.gapTokens ?? 64;
    // Sharing thoughts every step is cheap on a GPU, and wherever moves need no K-shift pass.
    const cheapMirrors = onGpu || this.placement !== "rotate";
    this.options = resolveReasonerOptions(options, cheapMirrors);
    this.historyRefreshTokens = options.historyRefreshTokens ?? 1024;
    if (!Number.isInteger(this.historyRefreshTokens) || this.historyRefreshTokens < 0)
      throw new DuetError("invalid-argument", "historyRefreshTokens must be 0 or a positive integer.");
    this.family = options.family
      ? familyById(options.family)
      : detectPromptFamily(backend.description.chatTemplate, backend.description.path);
    this.vocabulary = streamVocabulary(backend.tokenizer, this.family);
    this.cache = this.newCache();
    for (const layout of Object.values(LAYOUTS)) validateLayout(layout);
  }

  private newCache(): ViewCache {
    return new ViewCache(this.backend.runtime, (operation) => this.cacheObserver?.(operation), {
      strategy: this.placement,
      gapTokens: this.gapTokens,
    });
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** The conversation so far, as text. */
  get history(): ReadonlyArray<{ user: string; answer: string }> {
    return this.turns.map(({ user, answer }) => ({ user, answer }));
  }

  get runtime(): KvRuntime {
    return this.backend.runtime;
  }

  get tokenizer(): TokenizerInfo {
    return this.backend.tokenizer;
  }

  /** The GPU backend the model runs on, or false on the CPU (false where the backend does not say). */
  get device(): GpuChoice | false {
    return this.backend.description.gpu ?? false;
  }

  /** The GPU's name and the layers on it, where the backend reports them (the window shows where the model runs). */
  get gpuPlacement(): { layers?: number; device?: string } {
    const { gpuLayers, gpuDevice } = this.backend.description;
    return {
      ...(gpuLayers !== undefined ? { layers: gpuLayers } : {}),
      ...(gpuDevice ? { device: gpuDevice } : {}),
    };
  }

  /** CPU threads llama.cpp decodes with, where the backend reports them. */
  get threads(): number | undefined {
    return this.backend.description.threads;
  }

  private ensureIdle(action: string): void {
    if (this.disposed) throw new DuetError("engine-disposed", "The engine has been disposed.");
    if (this.running)
      throw new DuetError(
        "engine-busy",
        `Cannot ${action} while a turn is running; stop it or await turn.done.`,
      );
  }

  /** Starts a turn. Events stream from the returned handle; `turn.done` resolves when it has ended. */
  startTurn(request: TurnRequest = {}): Turn {
    this.ensureIdle("start a turn");
    const text = request.text ?? "";
    if (typeof text !== "string") throw new DuetError("invalid-argument", "The question must be a string.");
    const inputOpen = request.inputOpen ?? false;
    if (!inputOpen && text.trim() === "") throw new DuetError("invalid-argument", "The question is empty.");
    const mode = request.mode ?? this.options.mode;
    assertReasoningMode(mode);
    const maxSteps = request.maxSteps ?? this.options.maxSteps;
    if (!Number.isInteger(maxSteps) || maxSteps < 1)
      throw new DuetError("invalid-argument", "maxSteps must be a positive integer.");
    if (request.signal?.aborted) throw new DuetError("aborted", "The turn was cancelled before it started.");

    const layout = layoutFor(mode, this.options.layout);
    this.prepareCache(layout);
    const environment: TurnEnvironment = {
      cache: this.cache,
      tokenizer: this.backend.tokenizer,
      family: this.family,
      vocabulary: this.vocabulary,
      layout,
      options: this.options,
      mode,
      maxSteps,
      turnNumber: ++this.turnCount,
      createSampler: (stream: StreamName) =>
        this.backend.runtime.createSampler({
          ...this.options.sampling[stream],
          bias: this.vocabulary.bias[stream],
        }),
      sample: (logits, sampler) => this.backend.runtime.sample(logits, sampler),
      dropOldestHistoryTurn: () => this.dropOldestTurn(),
      setCacheObserver: (observer) => {
        this.cacheObserver = observer;
      },
      now: () => performance.now(),
    };
    const runner = new TurnRunner(environment, text, inputOpen, request.signal);
    this.running = runner;
    let finished = false;
    const done = runner.result.then(async (result) => {
      await this.commitTurn(runner, layout, result);
      finished = true;
      this.running = undefined;
      return result;
    });
    return new Turn(runner, done, () => finished || this.running !== runner);
  }

  /** Convenience: a complete question in one call. */
  ask(text: string, request: Omit<TurnRequest, "text" | "inputOpen"> = {}): Turn {
    return this.startTurn({ ...request, text });
  }

  /**
   * After a turn ended, keeps only the first `heardTokens` tokens of its answer in the
   * conversation (the user interrupted the speech; what was not heard was never said).
   */
  truncateLastAnswer(heardTokens: number): void {
    this.ensureIdle("truncate the last answer");
    assertHeardTokens(heardTokens);
    const last = this.turns[this.turns.length - 1];
    if (!last || heardTokens >= last.answerLength) return;
    const start = this.historyTokens.length - last.length;
    const from = start + last.answerOffset + heardTokens;
    const count = last.answerLength - heardTokens;
    if (!this.needsRebuild) this.cache.removeRange("history", from, count);
    this.historyTokens.splice(from, count);
    last.length -= count;
    last.answerLength = heardTokens;
    const answerTokens = this.historyTokens.slice(
      start + last.answerOffset,
      start + last.answerOffset + heardTokens,
    );
    last.answer = this.backend.tokenizer.detokenize(answerTokens);
  }

  /**
   * Starts from an earlier conversation (after the engine process restarted): the turns become
   * history and are read into the cache at the next turn.
   */
  restoreHistory(turns: ReadonlyArray<{ user: string; answer: string }>): void {
    this.ensureIdle("restore the conversation");
    const markup = this.historyMarkup();
    this.historyTokens = [];
    this.turns.length = 0;
    for (const { user, answer } of turns) {
      if (typeof user !== "string" || typeof answer !== "string" || user.trim() === "") continue;
      const entry = this.historyEntry(
        markup,
        this.tokenizeUserText(user),
        this.tokenizeUserText(answer),
        user,
        answer,
      );
      appendAll(this.historyTokens, entry.tokens);
      this.turns.push(entry.turn);
    }
    this.needsRebuild = true;
  }

  /** Forgets the conversation. */
  resetConversation(): void {
    this.ensureIdle("reset the conversation");
    this.historyTokens = [];
    this.turns.length = 0;
    this.needsRebuild = true;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    if (this.running) {
      this.running.enqueue({ kind: "stop" });
      await this.running.result.catch(() => undefined);
    }
    this.disposed = true;
    await this.backend.dispose?.();
  }

  // ---- cache and history ----

  private systemContents(layout: LayoutSpec): Map<string, Token[]> {
    const contents = new Map<string, Token[]>();
    const promptOptions = { safety: this.options.safety, extraInstructions: this.options.extraInstructions };
    for (const block of layout.blocks) {
      if (block.source.kind === "prompt") {
        contents.set(
          block.id,
          tokenizeMarkup(this.backend.tokenizer, this.family.part(block.source.part, promptOptions)),
        );
      }
    }
    return contents;
  }

  /** Makes the cache hold this layout's persistent blocks and empty turn blocks. */
  private prepareCache(layout: LayoutSpec): void {
    if (this.needsRebuild || this.layout !== layout) {
      for (let s = 0; s < this.backend.runtime.sequences; s++) this.backend.runtime.clear(s);
      this.cache = this.newCache();
      this.needsRebuild = false;
    }
    this.layout = layout;
    const contents = this.systemContents(layout);
    for (const block of layout.blocks) {
      const persistent = block.lifetime === "conversation";
      if (block.id === "history") this.cache.setContent("history", this.historyTokens);
      else if (persistent) {
        if (this.cache.tokens(block.id).length === 0)
          this.cache.setContent(block.id, contents.get(block.id) ?? []);
      } else this.cache.setContent(block.id, contents.get(block.id) ?? []);
    }
    this.cache.setViews(layout.views);
    // Each stream's output is computed in its home view; other views may copy it from there.
    const sources: Record<string, string> = {};
    for (const block of layout.blocks)
      if (block.source.kind === "output") sources[block.id] = layout.home[block.source.stream];
    this.cache.setSources(sources);
  }

  /** The markup a history turn is wrapped in; tokenized once, at the first turn that needs it. */
  private historyMarkup(): HistoryMarkup {
    const { tokenizer } = this.backend;
    this.markup ??= {
      userOpen: tokenizeMarkup(tokenizer, this.family.part("user_open", { safety: false })),
      userClose: tokenizeMarkup(tokenizer, this.family.userClose),
      assistantClose: tokenizeMarkup(tokenizer, this.family.assistantClose),
    };
    return this.markup;
  }

  /** One turn as history: its tokens (markup, the user's words, the answer) and its record. */
  private historyEntry(
    { userOpen, userClose, assistantClose }: HistoryMarkup,
    userTokens: readonly Token[],
    answerTokens: readonly Token[],
    user: string,
    answer: string,
  ): { tokens: Token[]; turn: HistoryTurn } {
    const tokens = [...userOpen, ...userTokens, ...userClose, ...answerTokens, ...assistantClose];
    const turn: HistoryTurn = {
      length: tokens.length,
      answerOffset: userOpen.length + userTokens.length + userClose.length,
      answerLength: answerTokens.length,
      user,
      answer,
    };
    return { tokens, turn };
  }

  private dropOldestTurn(): boolean {
    const oldest = this.turns.shift();
    if (!oldest) return false;
    this.cache.removeRange("history", 0, oldest.length);
    this.historyTokens.splice(0, oldest.length);
    return true;
  }

  /**
   * Turns the finished turn into history (docs/method.md, "History"): thoughts and linkers leave;
   * the user's words and the answer stay, as the layout's history entry. A short entry is decoded
   * afresh in plain chat form (no trace of the thoughts it was written beside); a long one keeps
   * the cells computed during the turn, with the chat markup decoded around them.
   */
  private async commitTurn(runner: TurnRunner, layout: LayoutSpec, result: TurnResult): Promise<void> {
    const { tokenizer } = this.backend;
    const outcome = runner.outcome;
    const cache = this.cache;
    const markup = this.historyMarkup();
    const { tokens: entryTokens, turn: record } = this.historyEntry(
      markup,
      outcome.userTokens,
      outcome.answerTokens,
      tokenizer.detokenize(outcome.userTokens),
      result.answer,
    );
    const conversationViews = layout.views.map((v) => ({ id: v.id, blocks: conversationBlocks(layout, v) }));
    try {
      if (result.metrics.endReason === "error") throw new Error("the turn failed; rebuild the cache");
      // A view whose cells disagree with its table would decode garbage from now on: check, rebuild if so.
      cache.verify();
      const refresh = entryTokens.length * layout.views.length <= this.historyRefreshTokens;
      const kept = new Set(refresh ? [] : ["user_open", "user", runner.writer.block]);
      for (const view of layout.views) {
        for (const block of turnBlocks(layout, view))
          if (!kept.has(block)) cache.dropFromView(view.id, block);
      }
      if (outcome.userTokens.length === 0) {
        for (const view of layout.views)
          for (const block of turnBlocks(layout, view)) cache.dropFromView(view.id, block);
        cache.setViews(conversationViews);
        return;
      }
      if (refresh) {
        const started = performance.now();
        cache.setViews(conversationViews);
        appendAll(this.historyTokens, entryTokens);
        cache.setContent("history", this.historyTokens);
        await retryDroppingHistory(
          () =>
            cache.place(cache.viewIds().flatMap((view) => cache.backlog(view).map((b) => ({ view, ...b })))),
          () => this.dropOldestTurn(),
        );
        this.lastHistoryRefresh = {
          tokens: entryTokens.length * layout.views.length,
          ms: performance.now() - started,
        };
      } else {
        await this.keepTurnCells(layout, runner, outcome.answerTokens);
        appendAll(this.historyTokens, entryTokens);
        cache.setContent("history", this.historyTokens);
        this.lastHistoryRefresh = undefined;
      }
      cache.verify();
      this.turns.push(record);
    } catch (error) {
      if (process.env.DUET_DEBUG)
        process.stderr.write(`duet: rebuilding the cache after a failed commit: ${String(error)}\n`);
      // The cache is in an unknown state: keep the words, rebuild the cache at the next turn.
      if (outcome.userTokens.length > 0) {
        if (!this.historyTokens.slice(-entryTokens.length).every((t, i) => t === entryTokens[i]))
          appendAll(this.historyTokens, entryTokens);
        this.turns.push(record);
      }
      this.needsRebuild = true;
    }
  }

  /**
   * Keeps the cells the turn computed for the user's words and the answer, decodes the chat
   * markup around them, and merges the whole entry into the history block.
   */
  private async keepTurnCells(
    layout: LayoutSpec,
    runner: TurnRunner,
    answerTokens: readonly Token[],
  ): Promise<void> {
    const cache = this.cache;
    // Merged blocks must sit side by side: close the gaps first (one K-shift pass).
    cache.closeGaps();
    const answerBlock = runner.writer.block;
    const starter = runner.writer.starter.length;
    if (starter > 0 && cache.tokens(answerBlock).length > 0) cache.removeRange(answerBlock, 0, starter);
    const fed = cache.tokens(answerBlock).length;
    cache.extend(answerBlock, answerTokens.slice(fed));
    const { userClose, assistantClose } = this.historyMarkup();
    cache.setContent("user_close", userClose);
    cache.setContent("assistant_close", assistantClose);
    const entry = layout.historyEntry;
    cache.setViews(
      layout.views.map((v) => ({ id: v.id, blocks: [...conversationBlocks(layout, v), ...entry] })),
    );
    // Placements are read again after each drop: dropping history changes the backlogs.
    await retryDroppingHistory(
      () => cache.place(cache.viewIds().flatMap((view) => cache.backlog(view).map((b) => ({ view, ...b })))),
      () => this.dropOldestTurn(),
    );
    for (const view of cache.viewIds()) cache.mergeBlocks(view, ["history", ...entry], "history");
  }

  /** Each view's cell positions in reading order (gaps leave holes; for tests and debugging). */
  inspectPositions(): Record<string, number[]> {
    return Object.fromEntries(this.cache.viewIds().map((view) => [view, this.cache.viewPositions(view)]));
  }

  /** Each view's tokens in reading order, as the cache holds them now (for tests and debugging). */
  inspectViews(): Record<string, Token[]> {
    return Object.fromEntries(this.cache.viewIds().map((view) => [view, this.cache.viewTokens(view)]));
  }

  /** Tokenizes text the way the engine treats user words (special-token text stays plain). */
  tokenizeUserText(text: string): Token[] {
    return tokenizeUserText(this.backend.tokenizer, this.family, text);
  }
}
