import type { HardwareInfo } from "../llama/hardwareBasics.js";
import { catalog, llmMemoryBytes, type CatalogEntry } from "./catalog.js";
import { SPEAKING_PACE_WPS, wordsPerSecond } from "./speed.js";

export type { Recommendation } from "../../shared/models.js";
import type { Recommendation, SpeedEstimate } from "../../shared/models.js";

const GPU_PREFERENCE: ReadonlyArray<"cuda" | "metal" | "vulkan"> = ["cuda", "metal", "vulkan"];

/**
 * The largest catalog LLM that both fits the memory (the best usable GPU's free memory, or half
 * the RAM on the CPU, with room for the KV cache of both views at the chosen context size) and
 * answers at speaking pace there (speed.ts). When none is fast enough, the fastest that fits,
 * saying it will be slower than speech.
 */
export function recommendSetup(
  hardware: HardwareInfo,
  contextSize = 4096,
  entries: readonly CatalogEntry[] = catalog(),
): Recommendation {
  const llms = entries.filter((e) => e.kind === "llm").sort((a, b) => a.sizeBytes - b.sizeBytes);
  if (llms.length === 0) throw new Error("The catalog has no language model.");
  const gpu = GPU_PREFERENCE.map((b) => hardware.gpus.find((g) => g.backend === b && g.usable)).find(
    (g) => g !== undefined,
  );
  // Apple's unified memory is shared with the system: budget like RAM. Leave 10% of VRAM for the driver.
  const budgetBytes =
    gpu && !gpu.unified
      ? Math.floor((gpu.freeVramBytes ?? gpu.vramBytes ?? 0) * 0.9)
      : Math.floor(hardware.ramBytes * (gpu?.unified ? 0.6 : 0.5));
  const where = gpu
    ? `${gpu.backend.toUpperCase()} GPU${gpu.devices?.[0] ? ` (${gpu.devices[0]})` : ""}`
    : "CPU";
  const estimates: SpeedEstimate[] = llms.map((entry) => {
    const fitsMemory = llmMemoryBytes(entry, contextSize) <= budgetBytes;
    const wps = wordsPerSecond(entry, hardware, gpu);
    return {
      id: entry.id,
      wordsPerSecond: Number(wps.toFixed(1)),
      runsOn: gpu ? `${gpu.backend.toUpperCase()} GPU` : "CPU",
      fitsMemory,
      speakingPace: fitsMemory && wps >= SPEAKING_PACE_WPS,
    };
  });
  const byId = (id: string) => llms.find((e) => e.id === id)!;
  const atPace = estimates.filter((e) => e.speakingPace);
  const inMemory = estimates.filter((e) => e.fitsMemory);
  const pick = atPace.at(-1) ?? inMemory[0] ?? estimates[0]!;
  const llm = byId(pick.id);
  const neededBytes = llmMemoryBytes(llm, contextSize);
  const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
  const cores = `${hardware.cpuThreads} CPU thread${hardware.cpuThreads === 1 ? "" : "s"}`;
  const machine = gpu ? where : `${where} (${cores}, no usable GPU)`;
  // Past a few times speaking pace the number means nothing to a listener.
  const pace =
    pick.wordsPerSecond >= 5 * SPEAKING_PACE_WPS
      ? "far faster than people speak"
      : `about ${pick.wordsPerSecond} words a second`;
  const reason =
    atPace.length > 0
      ? `${llm.name} is the largest model that answers at a speaking pace on the ${machine}: ${pace}, needing about ${gb(neededBytes)} of ${gb(budgetBytes)} available.`
      : inMemory.length > 0
        ? `${llm.name} fits the ${machine} (about ${gb(neededBytes)} of ${gb(budgetBytes)}), but expect about ${pick.wordsPerSecond} words a second, slower than people speak: the voice will pause while it writes.`
        : `Even ${llm.name} needs about ${gb(neededBytes)} but only ${gb(budgetBytes)} is available on the ${machine}; expect it to be slow.`;
  return {
    llm,
    gpu: gpu ? gpu.backend : "cpu",
    gpuLayers: gpu ? "max" : 0,
    contextSize,
    neededBytes,
    budgetBytes,
    fits: atPace.length > 0,
    reason,
    estimates,
  };
}
