import type { LogitsRef, Token, TokenSampler, TokenizerInfo } from "../../llama/types.js";
import type { ReasoningMode } from "../events.js";
import type { LayoutSpec, StreamName } from "../layout.js";
import type { ResolvedReasonerOptions } from "../options.js";
import type { PromptFamily } from "../promptFamily.js";
import type { StreamVocabulary } from "../tokens.js";
import type { CacheOperation, ViewCache } from "../viewCache.js";

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
