/**
 * The one module that touches node-llama-cpp internals (`_ctx`, `_model`, `_bindings`).
 *
 * node-llama-cpp's public API keeps every sequence a contiguous list from position 0; the
 * asynchronous reasoner needs to place tokens at explicit positions and move cached keys. The
 * native context behind `LlamaContext` can do that, so this module wraps exactly those calls,
 * typed, behind the engine's `KvRuntime` interface. node-llama-cpp is pinned to 3.21.1; the
 * self-test (`selfTest.ts`, run in CI) fails loudly if an upgrade changes these internals.
 *
 * It also chooses the llama.cpp binary: node-llama-cpp's stock prebuilt one, or Duet's patched
 * build (`npm run build:native`, docs/native-build.md), loaded from its own folder so the stock
 * binary stays what every other caller of node-llama-cpp gets. At load it checks with a tiny
 * decode what the loaded binary can do (`capabilities`).
 */
import { createRequire } from "node:module";
import { availableParallelism, platform } from "node:os";
import {
  getLlama,
  Llama,
  LlamaLogLevel,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from "node-llama-cpp";
import { nativeLog, nativeLogDetail } from "../nativeLog.js";
import { DuetError, abortError, type DuetErrorCode } from "../errors.js";
import { assertShiftableArchitecture, inspectLlmFile } from "../models/inspect.js";
import {
  defaultNativeDir,
  findNativeBuild,
  type NativeBackend,
  type NativeBuildLookup,
} from "./nativeBuilds.js";
import type {
  BatchItem,
  CandidateProbabilities,
  CellCopy,
  GpuChoice,
  KvCacheType,
  KvRuntime,
  LogitsRef,
  ModelDescription,
  NativeBinaryKind,
  RuntimeCapabilities,
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
  /** Duet's patched build only (native/addon/patches): turns gap decoding on or off for this context. */
  duetSetPositionGaps?(allow: boolean): boolean;
  /** Duet's patched build only: [from, to, start, end, delta] per block; resolves to cells copied or a negative code. */
  duetCopyCells?(copies: Int32Array): Promise<number>;
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
  /**
   * llama.cpp log level; lines go to the native log (see nativeLog.ts). Default: "info" when the
   * native log keeps everything (--verbose, the app's log file), else "warn".
   */
  logLevel?: "error" | "warn" | "info" | "debug";
  /**
   * Which llama.cpp binary to load. "auto" (default, or `DUET_LLAMA_BINARY`): Duet's patched build
   * when `npm run build:native` made one for this backend, else node-llama-cpp's stock binary.
   * "stock": always the stock binary. "patched": the patched build or an error.
   */
  binary?: LlamaBinaryChoice;
  /** Where patched builds live. Default `DUET_NATIVE_DIR`, else `.cache/native` in the repository. */
  nativeDir?: string;
}

export type LlamaBinaryChoice = "auto" | NativeBinaryKind;
export const LLAMA_BINARY_CHOICES: readonly LlamaBinaryChoice[] = ["auto", "stock", "patched"];

export interface LlamaSession {
  readonly runtime: KvRuntime;
  readonly tokenizer: TokenizerInfo;
  readonly description: ModelDescription;
  dispose(): Promise<void>;
}

interface LoadedLlama {
  llama: Llama;
  binary: NativeBinaryKind;
  /** Why the patched build is not in use, when it is not. */
  note?: string;
}

const llamaInstances = new Map<string, Promise<LoadedLlama>>();
const stockInstances = new Map<string, Promise<Llama>>();
/** How each loaded binary links llama.cpp: shared builds of both kinds must never meet in one process. */
const loadedLinkage = new Map<NativeBinaryKind, "static" | "shared">();

/**
 * llama.cpp's lines go to the native log (quiet in commands and tests, the log file in the app),
 * except its loading progress: dots that arrive one line each here, up to a hundred per load.
 */
const toNativeLog = (level: LlamaLogLevel, message: string): void => {
  if (/^\.+$/.test(message.trim())) return;
  nativeLog({ source: "llama.cpp", level: String(level), text: message });
};

function getStockLlama(gpu: GpuChoice, logLevel: LlamaLogLevel): Promise<Llama> {
  return getLlama({
    gpu: gpu === "cpu" ? false : gpu,
    logLevel,
    logger: toNativeLog,
    // Installed apps can never compile llama.cpp; prebuilt binaries only.
    build: "never",
    progressLogs: false,
  }).catch((error: unknown) => {
    throw new DuetError(
      "model-unreadable",
      `Could not start llama.cpp with the "${gpu}" backend: ${(error as Error).message}` +
        (gpu === "auto" || gpu === "cpu" ? "" : ` Try the "auto" or "cpu" backend.`),
      { cause: error },
    );
  });
}

/** What node-llama-cpp's private `Llama._create` takes (3.21.1); getLlama calls it the same way. */
interface LlamaFactory {
  _create(options: {
    bindings: unknown;
    bindingPath: string;
    buildType: "localBuild";
    buildMetadata: unknown;
    logLevel: LlamaLogLevel;
    logger: (level: LlamaLogLevel, message: string) => void;
    vramPadding: (totalVram: number) => number;
    ramPadding: (totalRam: number) => number;
    skipLlamaInit: boolean;
    debug: boolean;
    numa: false;
    tempDir: false;
  }): Promise<Llama>;
}

/**
 * Loads a patched build from its folder, as getLlama loads a local build, but without placing it
 * where getLlama would pick it up for everyone else.
 */
async function loadPatchedBuild(
  build: Extract<NativeBuildLookup, { found: true }>,
  logLevel: LlamaLogLevel,
): Promise<Llama> {
  const factory = Llama as unknown as Partial<LlamaFactory>;
  if (typeof factory._create !== "function") {
    throw new DuetError(
      "adapter-incompatible",
      `node-llama-cpp ${ADAPTER_NODE_LLAMA_CPP_VERSION}'s Llama._create is gone; the patched build cannot be loaded.`,
    );
  }
  const bindings: unknown = createRequire(import.meta.url)(build.bindingPath);
  return factory._create({
    bindings,
    bindingPath: build.bindingPath,
    buildType: "localBuild",
    buildMetadata: build.metadata,
    logLevel,
    logger: toNativeLog,
    // node-llama-cpp's own defaults (getLlama.js): keep some VRAM and RAM free.
    vramPadding: (totalVram) => Math.floor(Math.min(totalVram * 0.08, 1.6 * 1024 ** 3)),
    ramPadding: (totalRam) =>
      Math.floor(Math.min(totalRam * 0.25, (platform() === "linux" ? 1 : 6) * 1024 ** 3)),
    skipLlamaInit: false,
    debug: false,
    numa: false,
    tempDir: false,
  });
}

function checkLinkage(kind: NativeBinaryKind, linkage: "static" | "shared"): string | undefined {
  const other: NativeBinaryKind = kind === "stock" ? "patched" : "stock";
  const otherLinkage = loadedLinkage.get(other);
  if (otherLinkage === "shared" && linkage === "shared") {
    return `the ${other} llama.cpp binary is already loaded in this process and both share library names`;
  }
  return undefined;
}

async function loadLlama(
  gpu: GpuChoice,
  logLevel: LlamaLogLevel,
  choice: LlamaBinaryChoice,
  nativeDir: string,
): Promise<LoadedLlama> {
  if (choice === "stock") {
    return { ...(await loadStock(gpu, logLevel)), note: "the stock binary was requested" };
  }
  const reasons: string[] = [];
  /** The patched build for one backend, if it exists, loads, and (for a GPU backend) starts its GPU. */
  const tryPatched = async (backend: NativeBackend): Promise<LoadedLlama | undefined> => {
    const build = findNativeBuild({
      nativeDir,
      backend,
      nodeLlamaCppVersion: ADAPTER_NODE_LLAMA_CPP_VERSION,
    });
    if (!build.found) {
      reasons.push(build.reason);
      return undefined;
    }
    const clash = checkLinkage("patched", build.manifest.linkage);
    if (clash) {
      reasons.push(`the patched build ${build.manifest.key} cannot be loaded: ${clash}`);
      return undefined;
    }
    let llama: Llama;
    try {
      llama = await loadPatchedBuild(build, logLevel);
    } catch (error) {
      reasons.push(`the patched build ${build.manifest.key} failed to load: ${(error as Error).message}`);
      return undefined;
    }
    loadedLinkage.set("patched", build.manifest.linkage);
    if (backend !== "cpu" && llama.gpu !== backend) {
      reasons.push(`the patched ${backend} build found no ${backend} device`);
      await llama.dispose();
      return undefined;
    }
    return { llama, binary: "patched" };
  };

  if (gpu !== "auto") {
    const patched = await tryPatched(gpu);
    if (patched) return patched;
  } else {
    // A patched GPU build first; never trade a GPU the stock binary would use for the patched CPU build.
    for (const backend of platform() === "darwin" ? (["metal"] as const) : (["cuda", "vulkan"] as const)) {
      const patched = await tryPatched(backend);
      if (patched) return patched;
    }
    const stock = await loadStock(gpu, logLevel);
    if (stock.llama.gpu !== false) {
      if (choice === "patched") reasons.push(`the stock binary runs on ${stock.llama.gpu}`);
      else return { ...stock, note: reasons.join("; ") };
    } else {
      const patched = await tryPatched("cpu");
      if (patched) return patched;
      if (choice !== "patched") return { ...stock, note: reasons.join("; ") };
    }
  }
  if (choice === "patched") {
    throw new DuetError(
      "native-build-missing",
      `Duet's patched llama.cpp is not available: ${reasons.join("; ")}.`,
    );
  }
  return { ...(await loadStock(gpu, logLevel)), note: reasons.join("; ") };
}

/** node-llama-cpp's prebuilt binary (it links llama.cpp as shared libraries). */
async function loadStock(gpu: GpuChoice, logLevel: LlamaLogLevel): Promise<LoadedLlama> {
  const clash = checkLinkage("stock", "shared");
  if (clash)
    throw new DuetError("adapter-incompatible", `The stock llama.cpp binary cannot be loaded: ${clash}.`);
  let llama = stockInstances.get(`${gpu}:${logLevel}`);
  if (!llama) {
    llama = getStockLlama(gpu, logLevel);
    stockInstances.set(`${gpu}:${logLevel}`, llama);
    llama.catch(() => stockInstances.delete(`${gpu}:${logLevel}`));
  }
  const loaded = await llama;
  loadedLinkage.set("stock", "shared");
  return { llama: loaded, binary: "stock" };
}

function getLlamaFor(
  gpu: GpuChoice,
  logLevel: LlamaLogLevel,
  choice: LlamaBinaryChoice,
  nativeDir: string,
): Promise<LoadedLlama> {
  const key = `${choice}:${nativeDir}:${gpu}:${logLevel}`;
  let instance = llamaInstances.get(key);
  if (!instance) {
    instance = loadLlama(gpu, logLevel, choice, nativeDir).catch((error: unknown) => {
      llamaInstances.delete(key);
      throw error;
    });
    llamaInstances.set(key, instance);
  }
  return instance;
}

function binaryChoice(value: string | undefined, source: string): LlamaBinaryChoice {
  if (value === undefined || value === "") return "auto";
  if ((LLAMA_BINARY_CHOICES as readonly string[]).includes(value)) return value as LlamaBinaryChoice;
  throw new DuetError(
    "invalid-argument",
    `${source} must be one of ${LLAMA_BINARY_CHOICES.join(", ")} (got "${value}").`,
  );
}

/**
 * Asks the loaded binary, on the still empty sequences, whether it decodes into a gap and copies
 * cells: two tiny decodes and one copy, then the sequences are cleared again. The stock binary has
 * neither entry point, so nothing runs there.
 */
async function probeCapabilities(
  ctx: NativeContext,
  sequenceIds: readonly number[],
): Promise<RuntimeCapabilities> {
  const capabilities: RuntimeCapabilities = { gapDecode: false, kvCopy: false };
  const scratch = sequenceIds[0]!;
  const other = sequenceIds[1] ?? scratch;
  const clear = (): void => {
    for (const id of new Set([scratch, other])) ctx.removeTokenCellsFromSequence(id, -1, -1);
  };
  const decode = async (parts: Array<[position: number, token: number]>): Promise<void> => {
    ctx.initBatch(parts.length);
    for (const [position, token] of parts)
      ctx.addToBatch(scratch, position, Uint32Array.of(token), new Uint32Array());
    await ctx.decodeBatch();
  };
  try {
    if (typeof ctx.duetSetPositionGaps === "function" && ctx.duetSetPositionGaps(true)) {
      try {
        // Positions 0 and 2 leave a gap at 1; then one token into the gap.
        await decode([
          [0, 0],
          [2, 2],
        ]);
        await decode([[1, 1]]);
        capabilities.gapDecode =
          ctx.getSequenceKvCacheMinPosition(scratch) === 0 &&
          ctx.getSequenceKvCacheMaxPosition(scratch) === 2;
      } catch {
        capabilities.gapDecode = false;
      } finally {
        ctx.duetSetPositionGaps(false);
      }
    }
    if (typeof ctx.duetCopyCells === "function") {
      clear();
      await decode([
        [0, 0],
        [1, 1],
        [2, 2],
      ]);
      const delta = 10;
      const copied = await ctx.duetCopyCells(Int32Array.of(scratch, other, 0, 3, delta));
      capabilities.kvCopy =
        copied === 3 &&
        ctx.getSequenceKvCacheMinPosition(other) === (other === scratch ? 0 : delta) &&
        ctx.getSequenceKvCacheMaxPosition(other) === 2 + delta;
    }
  } catch {
    // A binary that fails the probe is used as stock.
  } finally {
    clear();
  }
  return capabilities;
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
  }[options.logLevel ?? (nativeLogDetail() === "all" ? "info" : "warn")];
  const choice = options.binary ?? binaryChoice(process.env.DUET_LLAMA_BINARY, "DUET_LLAMA_BINARY");
  const loaded = await getLlamaFor(gpu, logLevel, choice, options.nativeDir ?? defaultNativeDir());
  const llama = loaded.llama;
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
  const capabilities =
    loaded.binary === "patched"
      ? await probeCapabilities(native.nativeContext, native.sequenceIds)
      : { gapDecode: false, kvCopy: false };

  const runtime = new LlamaKvRuntime(context, native, sequences, capabilities);
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
    binary: loaded.binary,
    capabilities: { ...capabilities },
    ...(loaded.note ? { binaryNote: loaded.note } : {}),
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
  readonly capabilities: RuntimeCapabilities;
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
    capabilities: RuntimeCapabilities,
  ) {
    this.capabilities = Object.freeze({ ...capabilities });
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
    // llama.cpp refuses a batch whose positions decrease within a sequence (items into gaps first).
    const inPositionOrder = (
      a: { sequence: number; position: number },
      b: { sequence: number; position: number },
    ) => a.sequence - b.sequence || a.position - b.position;
    prefix.sort(inPositionOrder);
    final.sort(inPositionOrder);
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

  setGapDecoding(enabled: boolean): void {
    this.check();
    const native = this.native.nativeContext;
    if (!this.capabilities.gapDecode || typeof native.duetSetPositionGaps !== "function") {
      throw new DuetError(
        "unsupported-operation",
        "This llama.cpp binary cannot decode into gaps (it is the stock build). Build Duet's own with npm run build:native.",
      );
    }
    if (!native.duetSetPositionGaps(enabled)) {
      throw new DuetError("decode-failed", "llama.cpp refused to change gap decoding for this context.");
    }
  }

  async copyCells(copies: readonly CellCopy[]): Promise<number> {
    this.check();
    const native = this.native.nativeContext;
    if (!this.capabilities.kvCopy || typeof native.duetCopyCells !== "function") {
      throw new DuetError(
        "unsupported-operation",
        "This llama.cpp binary cannot copy cells between sequences (it is the stock build). Build Duet's own with npm run build:native.",
      );
    }
    const flat = new Int32Array(copies.length * 5);
    copies.forEach((copy, i) => {
      const values = [this.id(copy.from), this.id(copy.to), copy.start, copy.end, copy.delta];
      if (
        !values.every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31) ||
        copy.start < 0 ||
        copy.end < copy.start
      ) {
        throw new DuetError(
          "invalid-argument",
          `Cannot copy positions [${copy.start}, ${copy.end}) of sequence ${copy.from} by ${copy.delta}.`,
        );
      }
      flat.set(values, i * 5);
    });
    if (copies.length === 0) return 0;
    const result = await native.duetCopyCells(flat);
    if (result >= 0) return result;
    const reasons: Record<number, [DuetErrorCode, string]> = {
      [-1]: ["unsupported-operation", "this model's key cache cannot be copied (quantized, M-RoPE or MLA)"],
      [-2]: ["context-overflow", "a target sequence has too few free cells"],
      [-3]: ["invalid-argument", "a sequence id or range is invalid"],
      [-4]: ["decode-failed", "the copy failed to compute"],
    };
    const [code, reason] = reasons[result] ?? ["decode-failed", `llama.cpp returned ${result}`];
    throw new DuetError(code, `llama.cpp could not copy the cells: ${reason}. Nothing was copied.`);
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
