/**
 * The shapes of models as every process sees them: catalog entries, a model's status on disk, a
 * download's progress, the machine's hardware and the recommended setup. The engine produces
 * them (src/engine/models/, src/engine/llama/hardware.ts); the window shows them.
 */
import { z } from "zod";
import { MODEL_KINDS, type GpuChoice, type ModelKind } from "./choices.js";

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const fileNameSchema = z.string().regex(/^[^/\\]+$/, "must be a file name without folders");

/**
 * What to do with a downloaded archive: `tar.bz2` unpacks a voice folder named like the archive;
 * `tgz` takes one member out and installs it as `installAs`, checked against its own size and sha256.
 */
const archiveSchema = z.discriminatedUnion("format", [
  z.object({ format: z.literal("tar.bz2") }),
  z.object({
    format: z.literal("tgz"),
    member: z.string().min(1),
    installAs: fileNameSchema,
    sizeBytes: z.number().int().positive(),
    sha256: sha256Schema,
  }),
]);

export const catalogEntrySchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  name: z.string().min(1),
  kind: z.enum(MODEL_KINDS),
  /** The name the download is saved under in the models folder. */
  fileName: fileNameSchema,
  /** A pinned address: a Hugging Face commit, a release asset, a package version. */
  uri: z.string().url(),
  /** The download's exact size (approximate only where sha256 is null). */
  sizeBytes: z.number().int().positive(),
  /** The publisher's sha256 of the download; null only for a file nobody publishes one for (then the server's is used). */
  sha256: sha256Schema.nullable(),
  license: z.string(),
  contextLength: z.number().int().positive().optional(),
  promptFamily: z.string().optional(),
  /** KV cache shape, for memory estimates (LLMs). */
  shape: z
    .object({ layers: z.number().int(), kvHeads: z.number().int(), headDim: z.number().int() })
    .optional(),
  archive: archiveSchema.optional(),
  languages: z.array(z.string()).optional(),
  description: z.string(),
});
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
export type CatalogArchive = NonNullable<CatalogEntry["archive"]>;

export type DownloadPhase = "connecting" | "downloading" | "waiting" | "verifying" | "installing";

export interface DownloadProgress {
  /**
   * connecting: a request is on its way; waiting: a retry is scheduled; verifying: hashing the
   * file; installing: unpacking an archive (reported by the model manager).
   */
  phase: DownloadPhase;
  /** Bytes of the file on disk (while verifying: bytes hashed). */
  receivedBytes: number;
  /** null while the server has not said. */
  totalBytes: number | null;
  /** Moving average over the last seconds. */
  bytesPerSecond: number;
  etaSeconds: number | null;
  attempt: number;
  /** The download continued a partial file. */
  resumed: boolean;
  /** While waiting: what went wrong and what happens next, in words. */
  message?: string;
  /** While waiting: seconds until the next try. */
  retryInSeconds?: number;
}

export interface ModelStatus {
  id: string;
  name: string;
  kind: ModelKind;
  /**
   * From the catalog, imported from elsewhere, a file the user put in the models folder, or a
   * file found in another app's folder (LM Studio, Ollama, Jan, the Hugging Face cache), used
   * where it is. Found models are offered, never picked automatically.
   */
  source: "catalog" | "imported" | "folder" | "found";
  /** For found models: the app whose folder holds it. */
  foundIn?: string;
  installed: boolean;
  /** Where it is (or will be) on disk. */
  path: string;
  sizeBytes: number;
  /** Bytes already downloaded of an interrupted download. */
  partialBytes: number;
  /** Installed and checked against a published (or server-given) checksum. */
  verified: boolean;
  /** Why a file that is there does not count as installed, in words. */
  problem?: string;
  description: string;
}

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

/** How fast a model is expected to answer on this machine, and whether it fits in memory. */
export interface SpeedEstimate {
  id: string;
  /** Words per second of the spoken answer while the thinker runs beside it. */
  wordsPerSecond: number;
  /** Where it would run: "CPU", or the GPU backend. */
  runsOn: string;
  /** It fits the memory budget (GPU memory, or part of the RAM). */
  fitsMemory: boolean;
  /** It fits and answers at least as fast as people speak (about 3 words a second). */
  speakingPace: boolean;
}

export interface Recommendation {
  llm: CatalogEntry;
  gpu: GpuChoice;
  gpuLayers: "max" | 0;
  /** KV cells per view. */
  contextSize: number;
  /** Memory the choice needs and the budget it was measured against. */
  neededBytes: number;
  budgetBytes: number;
  reason: string;
  /** Whether it fits and answers at speaking pace; false means even the smallest model is tight or slow. */
  fits: boolean;
  /** Every catalog reasoning model, smallest first: expected speed here, and whether it fits. */
  estimates: SpeedEstimate[];
}
