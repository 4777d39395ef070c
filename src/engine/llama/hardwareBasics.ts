import { availableParallelism, cpus, freemem, totalmem } from "node:os";

/**
 * The machine facts that need no GPU library: safe to read in any process, including Electron's
 * main process (GPU probing, in hardware.ts, loads native backends and runs in a separate process).
 */

export type { GpuBackendInfo, HardwareInfo } from "../../shared/models.js";
import type { HardwareInfo } from "../../shared/models.js";

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
