/**
 * The one module that touches node-llama-cpp internals (`_ctx`, `_model`, `_bindings`).
 *
 * node-llama-cpp's public API keeps every sequence a contiguous list from position 0; the
 * asynchronous reasoner needs to place tokens at explicit positions and move cached keys. The
 * native context behind `LlamaContext` can do that, so this module wraps exactly those calls,
 * typed, behind the engine's `KvRuntime` interface. node-llama-cpp is pinned to 3.21.1; the
 * self-test (`selfTest.ts`, run in CI) fails loudly if an upgrade changes these internals.
 */
import { availableParallelism } from "node:os";
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from "node-llama-cpp";
import { nativeLog } from "../nativeLog.js";
import { DuetError, abortError } from "../errors.js";
import { assertShiftableArchitecture, inspectLlmFile } from "../models/inspect.js";
import type {
  BatchItem,
  CandidateProbabilities,
  GpuChoice,
  KvCacheType,
  KvRuntime,
  LogitsRef,
  ModelDescription,
  SamplerConfig,
  SequencePositions,
  Token,
  TokenSampler,
  TokenizerInfo,
} from "./types.js";

export const ADAPTER_NODE_LLAMA_CPP_VERSION = "3.21.1";

/** The subset of the native `AddonContext` this adapter relies on (node-llama-cpp 3.21.1). */
interface NativeContext {
  initBatch(size: number): void;
  addToBatch(
    sequenceId: number,
    firstPosition: number,
    tokens: Uint32Array,
    logitIndexes: Uint32Array,
  ): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(
    batchLogitIndex: number,
    sampler: NativeSampler,
    probabilities: boolean,
    confidence?: boolean,
  ): Promise<[token: number, probabilities: number[] | undefined, confidence: number | undefined]>;
  removeTokenCellsFromSequence(sequenceId: number, start: number, end: number): boolean;
  shiftSequenceTokenCells(sequenceId: number, start: number, end: number, delta: number): void;
  getSequenceKvCacheMinPosition(sequenceId: number): number;
  getSequenceKvCacheMaxPosition(sequenceId: number): number;
  disposeSequence(sequenceId: number): void;
  setThreads(threads: number): void;
  getThreads(): number;
}

interface NativeSampler {
  applyConfig(config: {
    temperature?: number;
    topK?: number;
    topP?: number;
    seed?: number;
    tokenBiasKeys?: Uint32Array;
    tokenBiasValues?: Float32Array;
  }): void;
  dispose(): void;
}

interface NativeBindings {
  AddonSampler: new (model: unknown) => NativeSampler;
}

function internals(
  llama: Llama,
  model: LlamaModel,
  context: LlamaContext,
  sequences: LlamaContextSequence[],
) {
  const bindings = (llama as unknown as { _bindings?: NativeBindings })._bindings;
  const nativeModel = (model as unknown as { _model?: unknown })._model;
  const nativeContext = (context as unknown as { _ctx?: NativeContext })._ctx;
  const sequenceIds = sequences.map((s) => (s as unknown as { _sequenceId?: number })._sequenceId);
  const required: Array<[string, unknown]> = [
    ["Llama._bindings.AddonSampler", bindings?.AddonSampler],
    ["LlamaModel._model", nativeModel],
    ["LlamaContext._ctx.addToBatch", nativeContext?.addToBatch],
    ["LlamaContext._ctx.shiftSequenceTokenCells", nativeContext?.shiftSequenceTokenCells],
    ["LlamaContext._ctx.removeTokenCellsFromSequence", nativeContext?.removeTokenCellsFromSequence],
    ["LlamaContext._ctx.getSequenceKvCacheMaxPosition", nativeContext?.getSequenceKvCacheMaxPosition],
    ["LlamaContext._ctx.sampleToken", nativeContext?.sampleToken],
  ];
  const missing = required
    .filter(([, value]) => typeof value !== "function" && value === undefined)
    .map(([name]) => name);
  if (missing.length > 0 || sequenceIds.some((id) => typeof id !== "number")) {
    throw new DuetError(
      "adapter-incompatible",
      `The installed node-llama-cpp lacks internals Duet's engine needs (${missing.join(", ") || "sequence ids"}). ` +
        `Duet is built for node-llama-cpp ${ADAPTER_NODE_LLAMA_CPP_VERSION} exactly; reinstall with npm ci.`,
    );
  }
  return {
    bindings: bindings!,
    nativeModel: nativeModel!,
    nativeContext: nativeContext!,
    sequenceIds: sequenceIds as number[],
  };
}

export interface OpenLlamaOptions {
  modelPath: string;
  /** Number of sequences (one per view). Default 2. */
  sequences?: number;
  /** Cells per sequence. Default 4096. */
  contextSize?: number;
  /** Most tokens per decode. Default 512. */
  batchSize?: number;
  /** Compute backend. Default "auto" (CUDA, then Vulkan, then CPU; Metal on Apple Silicon). */
  gpu?: GpuChoice;
  /** Layers to offload to the GPU. Default "auto". */
  gpuLayers?: number | "auto" | "max";
  /**
   * CPU threads for decoding. Default: 1 for tiny models (under 64 MB, where waking a thread pool
   * costs more than the work), otherwise one per physical math core (never more than the CPUs
   * this process may use).
   */
  threads?: number;
  /** KV cache type. Default "f16". Quantized key caches are refused: shifting re-quantizes keys every pass. */
  kvCacheType?: KvCacheType;
  /** Flash attention. Default false: on CPU it adds about 1e-2 logit noise to moved blocks. */
  flashAttention?: boolean;
  /**
   * Map the model file instead of reading it into memory. Default true (fast loads, shared pages).
   * On machines that reclaim file pages aggressively, false keeps step times steady.
   */
  useMmap?: boolean;
  /** Cancels loading. */
  signal?: AbortSignal;
  /** llama.cpp log level; lines go to the native log (see nativeLog.ts). Default "warn". */
  logLevel?: "error" | "warn" | "info" | "debug";
}

export interface LlamaSession {
  readonly runtime: KvRuntime;
  readonly tokenizer: TokenizerInfo;
  readonly description: ModelDescription;
  dispose(): Promise<void>;
}

const llamaInstances = new Map<string, Promise<Llama>>();

function getLlamaFor(gpu: GpuChoice, logLevel: LlamaLogLevel): Promise<Llama> {
  const key = `${gpu}:${logLevel}`;
  let instance = llamaInstances.get(key);
  if (!instance) {
    instance = getLlama({
      gpu: gpu === "cpu" ? false : gpu,
      logLevel,
      // llama.cpp's lines go to the native log (quiet in commands and tests, the log file in the app).
      logger: (level, message) => nativeLog({ source: "llama.cpp", level: String(level), text: message }),
      // Installed apps can never compile llama.cpp; prebuilt binaries only.
      build: "never",
      progressLogs: false,
    }).catch((error: unknown) => {
      llamaInstances.delete(key);
      throw new DuetError(
        "model-unreadable",
        `Could not start llama.cpp with the "${gpu}" backend: ${(error as Error).message}` +
          (gpu === "auto" || gpu === "cpu" ? "" : ` Try the "auto" or "cpu" backend.`),
        { cause: error },
      );
    });
    llamaInstances.set(key, instance);
  }
  return instance;
}

const QUANTIZED_KV: ReadonlySet<KvCacheType> = new Set(["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]);

/** Loads a GGUF model and creates a context with one sequence per view. */
export async function openLlama(options: OpenLlamaOptions): Promise<LlamaSession> {
  const kvCacheType = options.kvCacheType ?? "f16";
  if (QUANTIZED_KV.has(kvCacheType)) {
    throw new DuetError(
      "unsupported-kv-cache",
      `A ${kvCacheType} key cache cannot be used: every block move re-quantizes the moved keys (the error grows with ` +
        "each pass) and llama.cpp can crash in the shift for some head sizes. Use f16 (default) or f32.",
    );
  }
  const info = await inspectLlmFile(options.modelPath);
  assertShiftableArchitecture(info);
  if (options.signal?.aborted) throw abortError(options.signal);

  const gpu = options.gpu ?? "auto";
  const logLevel = {
    error: LlamaLogLevel.error,
    warn: LlamaLogLevel.warn,
    info: LlamaLogLevel.info,
    debug: LlamaLogLevel.debug,
  }[options.logLevel ?? "warn"];
  const llama = await getLlamaFor(gpu, logLevel);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: options.modelPath,
      gpuLayers: options.gpuLayers ?? "auto",
      ...(options.useMmap !== undefined ? { useMmap: options.useMmap } : {}),
      ...(options.signal ? { loadSignal: options.signal } : {}),
    });
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    throw new DuetError(
      "model-unreadable",
      `llama.cpp could not load ${options.modelPath}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const sequenceCount = options.sequences ?? 2;
  // node-llama-cpp's default (its maxThreads, twice the math cores) oversubscribes the CPU; with
  // llama.cpp's spinning thread pool that made every step ~100x slower on a 2-core machine.
  const threads =
    options.threads ??
    (info.fileSize < 64 * 1024 * 1024
      ? 1
      : Math.max(1, Math.min(llama.cpuMathCores, availableParallelism())));
  const contextSize = options.contextSize ?? 4096;
  let context: LlamaContext;
  try {
    context = await model.createContext({
      sequences: sequenceCount,
      contextSize,
      batchSize: options.batchSize ?? 512,
      flashAttention: options.flashAttention ?? false,
      threads,
      experimentalKvCacheKeyType: kvCacheType.toUpperCase() as "F16",
      experimentalKvCacheValueType: kvCacheType.toUpperCase() as "F16",
    });
  } catch (error) {
    await model.dispose();
    throw new DuetError(
      "model-unreadable",
      `Could not create a ${sequenceCount} x ${contextSize} context for ${options.modelPath}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // Reserve every sequence id; the runtime holds the objects so node-llama-cpp never reclaims them.
  const sequences: LlamaContextSequence[] = [];
  for (let i = 0; i < sequenceCount; i++) sequences.push(context.getSequence());
  const native = internals(llama, model, context, sequences);
  native.nativeContext.setThreads(threads);

  const runtime = new LlamaKvRuntime(context, native, sequences);
  const tokenizer = createTokenizer(model);
  const gpuDevice = llama.gpu === false ? undefined : (await llama.getGpuDeviceNames().catch(() => []))[0];
  const description: ModelDescription = {
    path: options.modelPath,
    architecture: info.architecture,
    trainContextSize: model.trainContextSize,
    chatTemplate: info.chatTemplate,
    layers: info.layers ?? 0,
    gpu: llama.gpu === false ? false : llama.gpu,
    gpuLayers: model.gpuLayers,
    ...(gpuDevice ? { gpuDevice } : {}),
    kvCacheType,
    threads: native.nativeContext.getThreads(),
  };
  let disposed = false;
  return {
    runtime,
    tokenizer,
    description,
    async dispose() {
      if (disposed) return;
      disposed = true;
      runtime.markDisposed();
      await context.dispose();
      await model.dispose();
    },
  };
}

class NativeTokenSampler implements TokenSampler {
  constructor(
    readonly native: NativeSampler,
    readonly config: Readonly<SamplerConfig>,
  ) {}
  dispose(): void {
    this.native.dispose();
  }
}

function applySamplerConfig(native: NativeSampler, config: SamplerConfig): void {
  const bias = config.bias ?? new Map<Token, number>();
  native.applyConfig({
    temperature: config.temperature ?? 0,
    ...(config.topK !== undefined ? { topK: config.topK } : {}),
    ...(config.topP !== undefined ? { topP: config.topP } : {}),
    seed: config.seed ?? 0,
    tokenBiasKeys: Uint32Array.from(bias.keys()),
    tokenBiasValues: Float32Array.from(bias.values()),
  });
}

class LlamaKvRuntime implements KvRuntime {
  readonly contextSize: number;
  readonly batchSize: number;
  readonly sequences: number;
  private decodeId = 0;
  private disposed = false;
  private readonly candidateSamplers = new Map<number, NativeSampler>();

  constructor(
    context: LlamaContext,
    private readonly native: ReturnType<typeof internals>,
    /**
     * Held for the runtime's lifetime: node-llama-cpp reclaims a sequence whose object is garbage
     * collected (a FinalizationRegistry erases its cells), which would wipe a view at random times.
     */
    private readonly sequenceHandles: readonly LlamaContextSequence[],
  ) {
    this.contextSize = context.contextSize;
    this.batchSize = context.batchSize;
    this.sequences = sequenceHandles.length;
  }

  markDisposed(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const sampler of this.candidateSamplers.values()) sampler.dispose();
    this.candidateSamplers.clear();
  }

  private check(): void {
    if (this.disposed) throw new DuetError("engine-disposed", "The model has been unloaded.");
  }

  private id(sequence: number): number {
    const id = this.native.sequenceIds[sequence];
    if (id === undefined) throw new DuetError("invalid-argument", `No sequence ${sequence} in this context.`);
    return id;
  }

  async decode(items: readonly BatchItem[]): Promise<Array<LogitsRef | undefined>> {
    this.check();
    const ctx = this.native.nativeContext;
    // Tokens after an item's logits position must share the final decode; earlier ones may go first.
    const prefix: Array<{ sequence: number; position: number; tokens: Token[] }> = [];
    const final: Array<{
      item: number;
      sequence: number;
      position: number;
      tokens: Token[];
      logitIndex: number | undefined;
    }> = [];
    let finalSize = 0;
    const total = items.reduce((n, item) => n + item.tokens.length, 0);
    items.forEach((item, index) => {
      const split = total <= this.batchSize ? 0 : (item.logitIndex ?? item.tokens.length);
      if (split > 0)
        prefix.push({
          sequence: item.sequence,
          position: item.firstPosition,
          tokens: item.tokens.slice(0, split),
        });
      if (split < item.tokens.length) {
        final.push({
          item: index,
          sequence: item.sequence,
          position: item.firstPosition + split,
          tokens: item.tokens.slice(split),
          logitIndex: item.logitIndex === undefined ? undefined : item.logitIndex - split,
        });
        finalSize += item.tokens.length - split;
      }
    });
    if (finalSize > this.batchSize) {
      throw new DuetError(
        "invalid-argument",
        `A decode needs ${finalSize} tokens after its logits; the batch holds ${this.batchSize}.`,
      );
    }
    // Prefix tokens in batch-sized chunks, each sequence's tokens kept in order.
    let chunk: Array<{ sequence: number; position: number; tokens: Token[] }> = [];
    let chunkSize = 0;
    const flush = async (): Promise<void> => {
      if (chunkSize === 0) return;
      ctx.initBatch(chunkSize);
      for (const part of chunk)
        ctx.addToBatch(
          this.id(part.sequence),
          part.position,
          Uint32Array.from(part.tokens),
          new Uint32Array(),
        );
      await this.runDecode();
      chunk = [];
      chunkSize = 0;
    };
    for (const part of prefix) {
      let offset = 0;
      while (offset < part.tokens.length) {
        const take = Math.min(this.batchSize - chunkSize, part.tokens.length - offset);
        chunk.push({
          sequence: part.sequence,
          position: part.position + offset,
          tokens: part.tokens.slice(offset, offset + take),
        });
        chunkSize += take;
        offset += take;
        if (chunkSize === this.batchSize) await flush();
      }
    }
    await flush();

    const refs: Array<LogitsRef | undefined> = items.map(() => undefined);
    if (finalSize === 0) return refs;
    ctx.initBatch(finalSize);
    const pending: Array<{ item: number; indexes: Uint32Array }> = [];
    for (const part of final) {
      const logitIndexes =
        part.logitIndex === undefined ? new Uint32Array() : Uint32Array.of(part.logitIndex);
      const indexes = ctx.addToBatch(
        this.id(part.sequence),
        part.position,
        Uint32Array.from(part.tokens),
        logitIndexes,
      );
      if (part.logitIndex !== undefined) pending.push({ item: part.item, indexes });
    }
    await this.runDecode();
    for (const { item, indexes } of pending) refs[item] = { decodeId: this.decodeId, index: indexes[0]! };
    return refs;
  }

  private async runDecode(): Promise<void> {
    try {
      await this.native.nativeContext.decodeBatch();
    } catch (error) {
      throw new DuetError(
        "decode-failed",
        `llama.cpp could not decode the batch (${(error as Error).message}). The context may be full or a position out of order.`,
        { cause: error },
      );
    } finally {
      this.decodeId++;
    }
  }

  private logitIndex(logits: LogitsRef): number {
    this.check();
    if (logits.decodeId !== this.decodeId) {
      throw new DuetError("invalid-argument", "These logits were overwritten by a later decode.");
    }
    return logits.index;
  }

  createSampler(config: SamplerConfig): TokenSampler {
    this.check();
    const native = new this.native.bindings.AddonSampler(this.native.nativeModel);
    applySamplerConfig(native, config);
    return new NativeTokenSampler(native, { ...config });
  }

  async sample(logits: LogitsRef, sampler: TokenSampler): Promise<Token> {
    const index = this.logitIndex(logits);
    if (!(sampler instanceof NativeTokenSampler)) throw new DuetError("invalid-argument", "Foreign sampler.");
    const [token] = await this.native.nativeContext.sampleToken(index, sampler.native, false);
    if (token < 0)
      throw new DuetError("decode-failed", "llama.cpp returned no token (every candidate was filtered out).");
    return token;
  }

  async candidates(
    logits: LogitsRef,
    k: number,
    bias?: ReadonlyMap<Token, number>,
  ): Promise<CandidateProbabilities> {
    const index = this.logitIndex(logits);
    let sampler: NativeSampler;
    let temporary = false;
    if (bias && bias.size > 0) {
      sampler = new this.native.bindings.AddonSampler(this.native.nativeModel);
      temporary = true;
    } else {
      sampler =
        this.candidateSamplers.get(k) ?? new this.native.bindings.AddonSampler(this.native.nativeModel);
      this.candidateSamplers.set(k, sampler);
    }
    // k = 0: greedy chain, whose candidate list is the whole vocabulary. k > 0: top-k then temperature 1.
    applySamplerConfig(
      sampler,
      k > 0
        ? { temperature: 1, topK: k, seed: 0, ...(bias ? { bias } : {}) }
        : { temperature: 0, ...(bias ? { bias } : {}) },
    );
    try {
      const [, flat] = await this.native.nativeContext.sampleToken(index, sampler, true);
      const tokens: Token[] = [];
      const probabilities: number[] = [];
      for (let i = 0; flat && i + 1 < flat.length; i += 2) {
        tokens.push(flat[i]!);
        probabilities.push(flat[i + 1]!);
      }
      return { tokens, probabilities };
    } finally {
      if (temporary) sampler.dispose();
    }
  }

  remove(sequence: number, start: number, end: number): void {
    this.check();
    if (!this.native.nativeContext.removeTokenCellsFromSequence(this.id(sequence), start, end)) {
      throw new DuetError(
        "decode-failed",
        `llama.cpp refused to remove cells [${start}, ${end}) of sequence ${sequence}.`,
      );
    }
  }

  shift(sequence: number, start: number, end: number, delta: number): void {
    this.check();
    if (delta === 0 || start === end) return;
    this.native.nativeContext.shiftSequenceTokenCells(this.id(sequence), start, end, delta);
  }

  positions(sequence: number): SequencePositions {
    this.check();
    const id = this.id(sequence);
    return {
      min: this.native.nativeContext.getSequenceKvCacheMinPosition(id),
      max: this.native.nativeContext.getSequenceKvCacheMaxPosition(id),
    };
  }

  clear(sequence: number): void {
    this.check();
    this.native.nativeContext.removeTokenCellsFromSequence(this.id(sequence), -1, -1);
  }

  async dispose(): Promise<void> {
    this.markDisposed();
  }
}

function createTokenizer(model: LlamaModel): TokenizerInfo {
  let vocabularySize = 0;
  for (const _ of model.iterateAllTokens()) vocabularySize++;
  const textCache = new Map<Token, string>();
  return {
    vocabularySize,
    tokenize: (text, options) => model.tokenize(text, options?.special ?? false) as Token[],
    detokenize: (tokens) => model.detokenize(tokens as never, true),
    tokenText(token) {
      let text = textCache.get(token);
      if (text === undefined) {
        text = model.detokenize([token] as never, true);
        textCache.set(token, text);
      }
      return text;
    },
    specialToken(text) {
      const special = model.tokenize(text, true);
      return special.length === 1 ? (special[0] as Token) : undefined;
    },
    isEndOfGeneration: (token) => model.isEogToken(token as never),
  };
}
