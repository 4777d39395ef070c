import { availableParallelism, cpus, freemem, totalmem } from "node:os";
import type { GpuChoice } from "../../shared/choices.js";

/**
 * The machine facts that need no GPU library: safe to read in any process, including Electron's
 * main process (GPU probing, in hardware.ts, loads native backends and runs in a separate process).
 */

export interface GpuBackendInfo {
  backend: Exclude<GpuChoice, "auto" | "cpu">;
  /** Binaries and drivers are present and a device answered. */
  usable: boolean;
  vramBytes?: number;
  freeVramBytes?: number;
  /** Unified memory (Apple Silicon): the GPU shares RAM. */
  unified?: boolean;
  devices?: string[];
  /** Why the backend cannot be used, for the user to read. */
  problem?: string;
}

export interface HardwareInfo {
  platform: NodeJS.Platform;
  arch: string;
  cpuModel: string;
  cpuThreads: number;
  ramBytes: number;
  freeRamBytes: number;
  gpus: GpuBackendInfo[];
}

/** CPU and memory, with no GPU information. */
export function basicHardwareInfo(): HardwareInfo {
  return {
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus()[0]?.model ?? "unknown CPU",
    cpuThreads: availableParallelism(),
    ramBytes: totalmem(),
    freeRamBytes: freemem(),
    gpus: [],
  };
}
