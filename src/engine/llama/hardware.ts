import { getLlama, getLlamaGpuTypes, LlamaLogLevel } from "node-llama-cpp";
import { basicHardwareInfo, type GpuBackendInfo, type HardwareInfo } from "./hardwareBasics.js";

export type { GpuBackendInfo, HardwareInfo };

/**
 * What this machine can run: RAM, CPU, and each GPU backend node-llama-cpp supports here, with
 * its memory, probed by starting the backend (a failure is recorded with its reason, not thrown).
 */
export async function detectHardware(options: { probeGpus?: boolean } = {}): Promise<HardwareInfo> {
  const info = basicHardwareInfo();
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
