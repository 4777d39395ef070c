import type { HardwareInfo, GpuBackendInfo } from "../llama/hardwareBasics.js";
import type { CatalogEntry } from "./catalog.js";

/**
 * Expected answering speed of a catalog model on a machine, from a table rather than a
 * measurement (a first run must recommend before anything is downloaded):
 *
 * - On the CPU a decoding step is bound by arithmetic on few cores and by memory bandwidth on
 *   many. The arithmetic part is scaled from one measurement (docs/architecture.md, README
 *   "Performance"): one asynchronous step of a 0.6B-parameter model takes 140 ms on 2 cores.
 * - On a GPU a step is bound by reading the weights once (both streams share the batch), plus a
 *   fixed overhead for the moves of the cache and the kernel launches.
 *
 * The writer produces one token per step while the thinker runs beside it; a token is about 0.75
 * English words. People speak about 2.5 words a second, so 3 words a second keeps ahead of the voice.
 */

/** Words per second the spoken answer needs to keep ahead of the voice. */
export const SPEAKING_PACE_WPS = 3;
const WORDS_PER_TOKEN = 0.75;
/** One asynchronous step of a 0.6B-parameter model on 2 CPU cores (measured, q8_0). */
const CPU_REFERENCE = { stepMs: 140, parameters: 0.6e9, cores: 2 };
/** A laptop's or desktop's memory bandwidth, conservatively. */
const CPU_BANDWIDTH = 20e9;
const GPU_OVERHEAD_MS = 20;

/** Bytes per parameter of the common GGUF quantizations, by the name in the file name. */
const QUANT_BYTES: Array<[RegExp, number]> = [
  [/q8_0/i, 8.5 / 8],
  [/q6_k/i, 6.56 / 8],
  [/q5_k/i, 5.69 / 8],
  [/q4_k/i, 4.85 / 8],
  [/q4_0/i, 4.5 / 8],
  [/bf16|f16/i, 2],
];

export function parameterCount(entry: Pick<CatalogEntry, "fileName" | "sizeBytes">): number {
  const bytes = QUANT_BYTES.find(([pattern]) => pattern.test(entry.fileName))?.[1] ?? 1;
  return entry.sizeBytes / bytes;
}

/**
 * Physical cores: machines with 4 or more hardware threads usually run two per core
 * (simultaneous multithreading), except Apple Silicon.
 */
export function physicalCores(hardware: Pick<HardwareInfo, "cpuThreads" | "platform" | "arch">): number {
  const threads = Math.max(1, hardware.cpuThreads);
  const smt = threads >= 4 && !(hardware.platform === "darwin" && hardware.arch === "arm64");
  return smt ? Math.max(1, Math.floor(threads / 2)) : threads;
}

/** A GPU's memory bandwidth, roughly, from its kind and size (nothing better is known before running). */
function gpuBandwidth(gpu: GpuBackendInfo): number {
  if (gpu.unified) return 100e9;
  if (gpu.backend === "cuda") return 300e9;
  return (gpu.vramBytes ?? 0) >= 6e9 ? 200e9 : 80e9;
}

/** Milliseconds per asynchronous step (a thought token and an answer token). */
export function stepMs(
  entry: Pick<CatalogEntry, "fileName" | "sizeBytes">,
  hardware: Pick<HardwareInfo, "cpuThreads" | "platform" | "arch">,
  gpu?: GpuBackendInfo,
): number {
  if (gpu) return (entry.sizeBytes / gpuBandwidth(gpu)) * 1000 + GPU_OVERHEAD_MS;
  const arithmetic =
    CPU_REFERENCE.stepMs *
    (parameterCount(entry) / CPU_REFERENCE.parameters) *
    (CPU_REFERENCE.cores / physicalCores(hardware));
  // Both streams read the weights once per step; the moves of the cache add about a tenth.
  const memory = (entry.sizeBytes / CPU_BANDWIDTH) * 1000 * 1.1;
  return Math.max(arithmetic, memory);
}

/** Words per second of the spoken answer while the thinker runs. */
export function wordsPerSecond(
  entry: Pick<CatalogEntry, "fileName" | "sizeBytes">,
  hardware: Pick<HardwareInfo, "cpuThreads" | "platform" | "arch">,
  gpu?: GpuBackendInfo,
): number {
  return (1000 / stepMs(entry, hardware, gpu)) * WORDS_PER_TOKEN;
}
