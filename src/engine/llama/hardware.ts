import { availableParallelism, cpus, freemem, totalmem } from "node:os";
import { getLlama, getLlamaGpuTypes, LlamaLogLevel } from "node-llama-cpp";
import type { GpuChoice } from "./types.js";

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

/**
 * What this machine can run: RAM, CPU, and each GPU backend node-llama-cpp supports here, with
 * its memory, probed by starting the backend (a failure is recorded with its reason, not thrown).
 */
export async function detectHardware(options: { probeGpus?: boolean } = {}): Promise<HardwareInfo> {
  const info: HardwareInfo = {
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus()[0]?.model ?? "unknown CPU",
    cpuThreads: availableParallelism(),
    ramBytes: totalmem(),
    freeRamBytes: freemem(),
    gpus: [],
  };
  if (options.probeGpus === false) return info;
  let types: string[];
  try {
    types = (await getLlamaGpuTypes("supported")).filter(
      (t): t is "cuda" | "vulkan" | "metal" => t === "cuda" || t === "vulkan" || t === "metal",
    );
  } catch (error) {
    info.gpus.push({
      backend: "vulkan",
      usable: false,
      problem: `Could not list GPU backends: ${(error as Error).message}`,
    });
    return info;
  }
  for (const backend of types as Array<GpuBackendInfo["backend"]>) {
    try {
      const llama = await getLlama({
        gpu: backend,
        build: "never",
        logLevel: LlamaLogLevel.error,
        progressLogs: false,
      });
      if (llama.gpu !== backend) {
        info.gpus.push({
          backend,
          usable: false,
          problem: `The ${backend} backend did not start (llama.cpp fell back to ${llama.gpu || "the CPU"}).`,
        });
        continue;
      }
      const vram = await llama.getVramState();
      info.gpus.push({
        backend,
        usable: vram.total > 0,
        vramBytes: vram.total,
        freeVramBytes: vram.free,
        unified: vram.unifiedSize > 0,
        devices: await llama.getGpuDeviceNames(),
        ...(vram.total > 0 ? {} : { problem: "No GPU memory was reported." }),
      });
    } catch (error) {
      info.gpus.push({ backend, usable: false, problem: (error as Error).message.split("\n")[0] });
    }
  }
  return info;
}
