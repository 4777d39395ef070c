import type { DuetErrorCode } from "../errors.js";
import type { Token } from "../llama/types.js";
import type { TurnMetrics } from "../../shared/turnEvents.js";

export { REASONING_MODES, type ReasoningMode } from "../../shared/choices.js";
export type {
  CacheOperation,
  EndReason,
  ReasonerState,
  TurnEvent,
  TurnMetrics,
} from "../../shared/turnEvents.js";
export interface AnswerToken {
  token: Token;
  text: string;
  timeMs: number;
  step: number;
}

export interface TurnResult {
  answer: string;
  thoughts: string;
  answerTokens: AnswerToken[];
  metrics: TurnMetrics;
  error?: { code: DuetErrorCode | "internal"; message: string };
}
