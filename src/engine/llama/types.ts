/**
 * The engine's view of a language model runtime: token placement at explicit positions in
 * several sequences of one KV cache. The llama.cpp adapter implements it; tests may implement it
 * with scripted fakes. Nothing here depends on node-llama-cpp.
 */

export type Token = number;

export { GPU_CHOICES, type GpuChoice } from "../../shared/choices.js";
import type { GpuChoice } from "../../shared/choices.js";

export type KvCacheType = "f16" | "f32" | "bf16" | "q8_0" | "q4_0" | "q4_1" | "q5_0" | "q5_1";

/**
 * Tokens for one sequence in a decode batch. Positions must continue the sequence
 * (`firstPosition = max + 1`), unless gap decoding is on (`setGapDecoding(true)`, only where
 * `capabilities.gapDecode`): then an item may start at any position, typically inside a gap the
 * caller reserved; the tokens must land on positions the sequence does not hold yet. Several items
 * may name the same sequence; the runtime decodes them in position order.
 */
export interface BatchItem {
  sequence: number;
  firstPosition: number;
  tokens: readonly Token[];
  /** Read next-token logits after `tokens[logitIndex]`. Default: no logits. */
  logitIndex?: number;
}

/** Handle to logits computed by the latest decode; valid until the next decode. */
export interface LogitsRef {
  readonly decodeId: number;
  readonly index: number;
}

export interface SamplerConfig {
  /** 0 means greedy. Default 0. */
  temperature?: number;
  /** Default: no top-p filter. */
  topP?: number;
  /** Default: no top-k filter. */
  topK?: number;
  /** Default 0. */
  seed?: number;
  /** Added to the logits of these tokens before sampling (docs/method.md: -100 for forbidden ones). */
  bias?: ReadonlyMap<Token, number>;
}

export interface TokenSampler {
  readonly config: Readonly<SamplerConfig>;
  dispose(): void;
}

/** Probabilities of the top candidates, highest first, after applying `bias`. */
export interface CandidateProbabilities {
  tokens: Token[];
  probabilities: number[];
}

export interface SequencePositions {
  /** -1 when the sequence is empty. */
  min: number;
  max: number;
}

/** What the loaded llama.cpp binary can do beyond stock (docs/native-build.md). */
export interface RuntimeCapabilities {
  /** Decodes tokens at any free position of a sequence (into a reserved gap), when asked. */
  gapDecode: boolean;
  /** Copies a block of cells into another sequence, rotating only the copied keys (`copyCells`). */
  kvCopy: boolean;
}

/** Which llama.cpp binary is loaded: node-llama-cpp's prebuilt one, or Duet's patched build. */
export type NativeBinaryKind = "stock" | "patched";

/**
 * One block to copy: the cells of sequence `from` with positions in [start, end) are copied into
 * sequence `to` at positions [start + delta, end + delta). The copies keep the keys and values
 * computed in `from` (the paper's "computed once, shown in both views"); keys are re-rotated by
 * `delta`, values are unchanged. The caller keeps the target positions free.
 */
export interface CellCopy {
  from: number;
  to: number;
  start: number;
  end: number;
  delta: number;
}

export interface KvRuntime {
  /** What this binary can do beyond stock llama.cpp. */
  readonly capabilities: RuntimeCapabilities;
  /**
   * Lets decode items start at any free position (see `BatchItem`). Off by default, and then the
   * runtime accepts exactly what stock llama.cpp accepts. Throws unless `capabilities.gapDecode`.
   */
  setGapDecoding(enabled: boolean): void;
  /**
   * Copies blocks of cells between sequences (see `CellCopy`) without decoding and without a
   * K-shift pass; pending shifts are applied first. Resolves to the number of cells copied.
   * Throws unless `capabilities.kvCopy`, or when a target sequence has too few free cells
   * (then nothing is copied).
   */
  copyCells(copies: readonly CellCopy[]): Promise<number>;
  /** Cells available to each sequence. */
  readonly contextSize: number;
  /** Most tokens one decode may hold. */
  readonly batchSize: number;
  readonly sequences: number;
  /** Decodes a batch; returns one logits handle per item with `wantLogits` (undefined otherwise). */
  decode(items: readonly BatchItem[]): Promise<Array<LogitsRef | undefined>>;
  sample(logits: LogitsRef, sampler: TokenSampler): Promise<Token>;
  /** The top `k` candidates (all of the vocabulary when `k` is 0) after `bias`. */
  candidates(
    logits: LogitsRef,
    k: number,
    bias?: ReadonlyMap<Token, number>,
  ): Promise<CandidateProbabilities>;
  createSampler(config: SamplerConfig): TokenSampler;
  /** Removes cells with positions in [start, end) (end -1 = to the end). */
  remove(sequence: number, start: number, end: number): void;
  /** Moves cells with positions in [start, end) by delta, re-rotating their keys at the next decode. */
  shift(sequence: number, start: number, end: number, delta: number): void;
  positions(sequence: number): SequencePositions;
  clear(sequence: number): void;
  dispose(): Promise<void>;
}

/** The tokenizer and vocabulary facts the engine needs. */
export interface TokenizerInfo {
  readonly vocabularySize: number;
  /** Plain text to tokens; special-token texts stay plain text unless `special` is true. */
  tokenize(text: string, options?: { special?: boolean }): Token[];
  /** Tokens to text, special tokens rendered as their text. */
  detokenize(tokens: readonly Token[]): string;
  /** The text one token renders as (with special tokens rendered). */
  tokenText(token: Token): string;
  /** The id of a special token by its text (`<|im_end|>`), or undefined when the vocabulary lacks it. */
  specialToken(text: string): Token | undefined;
  isEndOfGeneration(token: Token): boolean;
}

export interface ModelDescription {
  path: string;
  architecture: string;
  trainContextSize: number;
  chatTemplate: string | undefined;
  layers: number;
  gpu: GpuChoice | false;
  /** Layers llama.cpp put on the GPU (0: the model runs on the CPU even with a GPU backend). */
  gpuLayers?: number;
  /** The GPU's name, as the backend reports it. */
  gpuDevice?: string;
  /** The KV cache key type in use. */
  kvCacheType: KvCacheType;
  threads: number;
  /** The llama.cpp binary in use, and what it can do beyond stock. */
  binary: NativeBinaryKind;
  capabilities: RuntimeCapabilities;
  /** Why the patched build is not in use (missing, forced stock, failed to load); undefined when it is. */
  binaryNote?: string;
}
