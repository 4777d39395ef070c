import type { HardwareInfo } from "../llama/hardwareBasics.js";
import { catalog, llmMemoryBytes, type CatalogEntry } from "./catalog.js";

export type { Recommendation } from "../../shared/models.js";
import type { Recommendation } from "../../shared/models.js";

const GPU_PREFERENCE: ReadonlyArray<"cuda" | "metal" | "vulkan"> = ["cuda", "metal", "vulkan"];

/**
 * The largest catalog LLM that fits the best usable GPU's free memory (or, on CPU, half the RAM and at most about 4B parameters, for speed),
 * with room for the KV cache of both views at the chosen context size.
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
  // Without a GPU, larger models answer too slowly for a conversation: stay at about 4B parameters.
  const cpuSpeedCap = gpu ? Infinity : 3e9;
  const fitting = llms.filter(
    (e) => llmMemoryBytes(e, contextSize) <= budgetBytes && e.sizeBytes <= cpuSpeedCap,
  );
  const llm = fitting.at(-1) ?? llms[0]!;
  const neededBytes = llmMemoryBytes(llm, contextSize);
  const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
  return {
    llm,
    gpu: gpu ? gpu.backend : "cpu",
    gpuLayers: gpu ? "max" : 0,
    contextSize,
    neededBytes,
    budgetBytes,
    fits: fitting.length > 0,
    reason:
      fitting.length > 0
        ? `${llm.name} is the largest model that fits the ${where}${gpu ? "" : " and still answers at a conversational pace"}: it needs about ${gb(neededBytes)} of ${gb(budgetBytes)} available.`
        : `Even ${llm.name} needs about ${gb(neededBytes)} but only ${gb(budgetBytes)} is available on the ${where}; expect it to be slow.`,
  };
}
