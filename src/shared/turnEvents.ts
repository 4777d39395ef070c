/**
 * What a turn of reasoning reports as it runs: the engine emits these events, the voice session
 * and the window consume them (docs/architecture.md, "The way of a token").
 */
import type { DuetErrorCode } from "./errors.js";
import type { LayoutName, ReasoningMode } from "./choices.js";

/**
 * What the cache did, for observers (events, benchmarks): tokens appended at a view's end,
 * inserted into its middle (decoded there, or rotated there), copied from the view that computed
 * them, removed; a gap of free positions opened after a block; a probe asked.
 */
export interface CacheOperation {
  kind: "append" | "insert" | "copy" | "remove" | "gap" | "probe";
  view: string;
  block: string;
  tokens: number;
  /** Cells moved by rotation (0 for plain appends). */
  movedCells: number;
}

export type ReasonerState = "thinker_only" | "thinker_and_writer" | "writer_only";
export type EndReason = "end-of-turn" | "budget" | "cancelled" | "context-full" | "error";

export interface TurnMetrics {
  /** ms from the request start (prefill included) to the first answer token; null if none. */
  ttftMs: number | null;
  /** Step of the first answer token. */
  stft: number | null;
  /** 1 + last answer step - answer tokens. */
  stepsDelay: number | null;
  steps: number;
  thinkerTokens: number;
  writerTokens: number;
  endReason: EndReason;
  totalMs: number;
  prefillMs: number;
  /** Steps per second of the generation loop (prefill excluded). */
  stepsPerSecond: number;
  probes: number;
  probeMs: number;
  /** Tokens decoded a second time into another view. */
  mirroredTokens: number;
  /** Decodes that had to re-rotate keys (one pass over the whole cache each). */
  shiftPasses: number;
  /**
   * Thoughts the thinker had written that the writer's view did not hold yet, at each writer
   * decode: mean and maximum (0 when every view is updated every step, as in the paper).
   */
  thoughtLagMean: number;
  thoughtLagMax: number;
}

interface At {
  /** ms since the turn's request started. */
  timeMs: number;
  step: number;
}

export type TurnEvent =
  | ({
      type: "start";
      mode: ReasoningMode;
      layout: LayoutName;
      turn: number;
      /** When thoughts reach the writer: "every step", or "in chunks of N tokens". */
      thoughtSharing: string;
      /**
       * How they get into the writer's view: "rotate" (decoded at the end and moved, stock
       * llama.cpp), "gap" (decoded into free positions) or "copy" (copied from the thinker's view);
       * the last two need Duet's own llama.cpp build.
       */
      placement: "rotate" | "gap" | "copy";
    } & At)
  | ({ type: "prefill"; tokens: number; durationMs: number } & At)
  | ({ type: "state"; state: ReasonerState; previous: ReasonerState | null; reason: string } & At)
  | ({ type: "thought"; text: string; token: number; index: number } & At)
  | ({ type: "answer"; text: string; token: number; index: number } & At)
  | ({
      type: "probe";
      pYes: number;
      pNo: number;
      decision: "yes" | "no";
      forced: boolean;
      durationMs: number;
    } & At)
  | ({ type: "cache"; operation: CacheOperation } & At)
  | ({ type: "input"; text: string; tokens: number; final: boolean } & At)
  | ({ type: "interjection"; text: string; keptAnswerTokens: number; droppedAnswerTokens: number } & At)
  | ({ type: "truncate"; keptAnswerTokens: number; droppedAnswerTokens: number } & At)
  | ({ type: "history"; droppedTurns: number; reason: string } & At)
  | ({
      type: "end";
      reason: EndReason;
      metrics: TurnMetrics;
      error?: { code: DuetErrorCode | "internal"; message: string };
    } & At);
