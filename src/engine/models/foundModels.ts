/**
 * Models the user already has from other apps (LM Studio, Ollama, Jan, the Hugging Face cache),
 * found so Duet can use them in place instead of downloading the same GGUF twice.
 *
 * `findModels()` looks only in each app's own folders, to a fixed depth, reading file headers
 * (never whole files), and validates each candidate like an import: GGUFs of an architecture Duet
 * runs, whisper.cpp ggml files. Unreadable folders, broken links and foreign files are passed over
 * silently; a GGUF that fails validation is reported in `skipped` with the reason in words.
 * Nothing is copied or written.
 */
import { open, opendir, realpath, stat } from "node:fs/promises";
import { posix, win32 } from "node:path";
import { homedir } from "node:os";
import { z } from "zod";
import { abortError, isDuetError } from "../errors.js";
import { validateLlmFile, validateWhisperFile, type ValidatedModel } from "./validate.js";

export const FOUND_MODEL_SOURCES = ["lm-studio", "ollama", "jan", "hugging-face"] as const;
export type FoundModelSource = (typeof FOUND_MODEL_SOURCES)[number];

/** The apps' names as people know them. */
export const SOURCE_NAMES: Readonly<Record<FoundModelSource, string>> = {
  "lm-studio": "LM Studio",
  ollama: "Ollama",
  jan: "Jan",
  "hugging-face": "Hugging Face cache",
};

export interface FoundModel {
  /** The file to load, in the other app's folder (used in place, never copied). */
  path: string;
  kind: "llm" | "stt";
  /** What the app calls it: `qwen3:8b` (Ollama), `Qwen/Qwen3-8B-GGUF Qwen3-8B-Q4_K_M.gguf` (Hugging Face), ... */
  name: string;
  source: FoundModelSource;
  sizeBytes: number;
  /** From validation: architecture, prompt family, context length, layers (language models). */
  details: ValidatedModel["details"];
}

export interface SkippedModel {
  path: string;
  name: string;
  source: FoundModelSource;
  /** Why Duet cannot use it, in words (an unsupported architecture, a truncated file). */
  reason: string;
}

export interface FoundModelsScan {
  models: FoundModel[];
  skipped: SkippedModel[];
}

export interface FindModelsOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  signal?: AbortSignal;
  /** Directory entries looked at in all (default 20,000): a bound on the walk, whatever is on disk. */
  maxEntries?: number;
}

/** One place an app keeps models, and how its files are laid out there. */
export interface ModelLocation {
  source: FoundModelSource;
  root: string;
  layout: "folders" | "ollama" | "hugging-face";
  /** For `folders`: how many folder levels below the root model files may sit. */
  depth?: number;
}

const pathsFor = (platform: NodeJS.Platform) => (platform === "win32" ? win32 : posix);

/**
 * Where each app keeps its models on this platform (candidates; most will not exist). LM Studio's
 * own settings can move its folder; those are read by `findModels` (see `lmStudioCustomRoots`).
 */
export function modelLocations(
  options: Pick<FindModelsOptions, "home" | "env" | "platform"> = {},
): ModelLocation[] {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const { join } = pathsFor(platform);
  const locations: ModelLocation[] = [];
  const folders = (source: FoundModelSource, root: string, depth: number) =>
    locations.push({ source, root, layout: "folders", depth });

  // LM Studio: models/<publisher>/<repository>/<file>.gguf; ~/.cache/lm-studio before version 0.3.
  folders("lm-studio", join(home, ".lmstudio", "models"), 3);
  folders("lm-studio", join(home, ".cache", "lm-studio", "models"), 3);

  // Ollama: manifests naming content-addressed blobs. OLLAMA_MODELS moves the store; the Linux
  // service install keeps it in the ollama user's home.
  if (env.OLLAMA_MODELS) locations.push({ source: "ollama", root: env.OLLAMA_MODELS, layout: "ollama" });
  locations.push({ source: "ollama", root: join(home, ".ollama", "models"), layout: "ollama" });
  if (platform === "linux")
    locations.push({ source: "ollama", root: "/usr/share/ollama/.ollama/models", layout: "ollama" });

  // Jan: from 0.6 on, <data>/llamacpp/models/<id>/model.gguf (ids may hold one "/"); before,
  // <data>/models/<id>/*.gguf, with the data folder at ~/jan in the oldest releases.
  const janData =
    platform === "win32"
      ? join(env.APPDATA ?? join(home, "AppData", "Roaming"), "Jan", "data")
      : platform === "darwin"
        ? join(home, "Library", "Application Support", "Jan", "data")
        : join(env.XDG_DATA_HOME ?? join(home, ".local", "share"), "Jan", "data");
  folders("jan", join(janData, "llamacpp", "models"), 3);
  folders("jan", join(janData, "models"), 2);
  folders("jan", join(home, "jan", "models"), 2);

  // The Hugging Face cache: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub.
  const hfHub =
    env.HF_HUB_CACHE ??
    env.HUGGINGFACE_HUB_CACHE ??
    (env.HF_HOME
      ? join(env.HF_HOME, "hub")
      : join(env.XDG_CACHE_HOME ?? join(home, ".cache"), "huggingface", "hub"));
  locations.push({ source: "hugging-face", root: hfHub, layout: "hugging-face" });

  // One entry per folder (an env variable may name a default one).
  const seen = new Set<string>();
  return locations.filter((l) => !seen.has(l.root) && seen.add(l.root));
}

/** A model file somewhere in a location, before validation. */
interface Candidate {
  path: string;
  name: string;
  source: FoundModelSource;
}

/** Counts directory entries against the scan's bound and checks for cancellation. */
class Budget {
  private left: number;
  constructor(
    maxEntries: number,
    private readonly signal: AbortSignal | undefined,
    /** Joins paths the platform's way (locations are built per platform). */
    readonly join: (...parts: string[]) => string,
  ) {
    this.left = maxEntries;
  }

  /**
   * The folder's entries (none when unreadable or the bound is spent), sorted for a stable order.
   * Read one by one, so a folder with a million entries costs no more than the bound.
   */
  async list(folder: string): Promise<Array<{ name: string; path: string }>> {
    if (this.signal?.aborted) throw abortError(this.signal);
    const names: string[] = [];
    try {
      const dir = await opendir(folder);
      for await (const entry of dir) {
        if (names.length >= this.left) break; // leaving the loop closes the folder
        names.push(entry.name);
      }
    } catch {
      // Missing or unreadable: nothing from here.
    }
    this.left -= names.length;
    return names.sort().map((name) => ({ name, path: this.join(folder, name) }));
  }
}

type EntryKind = "file" | "folder" | undefined;

/** What a path is, following symbolic links; undefined for broken links and unreadable entries. */
async function entryKind(path: string): Promise<EntryKind> {
  try {
    const info = await stat(path);
    return info.isFile() ? "file" : info.isDirectory() ? "folder" : undefined;
  } catch {
    return undefined;
  }
}

const MODEL_FILE = /\.(gguf|bin)$/i;
/** Parts 2.. of a split GGUF: llama.cpp loads a split model from its first part. */
const LATER_SPLIT_PART = /-(\d{5})-of-\d{5}\.gguf$/i;

function isModelFileName(name: string): boolean {
  const part = LATER_SPLIT_PART.exec(name);
  return MODEL_FILE.test(name) && (!part || part[1] === "00001");
}

/** Model files up to `depth` folder levels below `root`; named by their path below the root. */
async function folderCandidates(location: ModelLocation, budget: Budget): Promise<Candidate[]> {
  const found: Candidate[] = [];
  const visited = new Set<string>();
  const walk = async (folder: string, relative: string[], depth: number): Promise<void> => {
    const real = await realpath(folder).catch(() => undefined);
    if (!real || visited.has(real)) return; // unreadable, or a link back into the walk
    visited.add(real);
    for (const entry of await budget.list(folder)) {
      if (entry.name.startsWith(".")) continue;
      const kind = await entryKind(entry.path);
      if (kind === "file" && isModelFileName(entry.name)) {
        // Jan names every file model.gguf: its folder (the model's id) is the name.
        const name =
          location.source === "jan" && /^model\.gguf$/i.test(entry.name) && relative.length > 0
            ? relative.join("/")
            : [...relative, entry.name].join("/");
        found.push({ path: entry.path, name, source: location.source });
      } else if (kind === "folder" && depth > 0) {
        await walk(entry.path, [...relative, entry.name], depth - 1);
      }
    }
  };
  await walk(location.root, [], location.depth ?? 1);
  return found;
}

/** Hugging Face: models--<org>--<name>/snapshots/<revision>/<files, maybe in a folder or two>. */
async function huggingFaceCandidates(location: ModelLocation, budget: Budget): Promise<Candidate[]> {
  const found: Candidate[] = [];
  for (const repo of await budget.list(location.root)) {
    if (!repo.name.startsWith("models--")) continue; // datasets--, spaces--, .locks
    const repoName = repo.name.slice("models--".length).split("--").join("/");
    for (const revision of await budget.list(budget.join(repo.path, "snapshots"))) {
      const inSnapshot = await folderCandidates(
        { source: "hugging-face", root: revision.path, layout: "folders", depth: 2 },
        budget,
      );
      for (const c of inSnapshot) found.push({ ...c, name: `${repoName} ${c.name}` });
    }
  }
  return found;
}

const MAX_MANIFEST_BYTES = 1 << 20;
const OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model";
const ollamaManifest = z.object({
  layers: z.array(z.object({ mediaType: z.string(), digest: z.string() })),
});

/** Reads a small JSON file; undefined if it is missing, too large or not JSON. */
async function readSmallJson(path: string): Promise<unknown> {
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      if (size > MAX_MANIFEST_BYTES) return undefined;
      const bytes = Buffer.alloc(size);
      const { bytesRead } = await handle.read(bytes, 0, size, 0);
      return JSON.parse(bytes.subarray(0, bytesRead).toString("utf8")) as unknown;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/** `qwen3:8b` for the library, `user/model:tag` for other namespaces, `host/ns/model:tag` elsewhere. */
function ollamaName(host: string, namespace: string, model: string, tag: string): string {
  if (host === "registry.ollama.ai")
    return namespace === "library" ? `${model}:${tag}` : `${namespace}/${model}:${tag}`;
  return `${host}/${namespace}/${model}:${tag}`;
}

/** Ollama: manifests/<host>/<namespace>/<model>/<tag> (JSON) naming blobs/sha256-<hex> (the GGUF). */
async function ollamaCandidates(location: ModelLocation, budget: Budget): Promise<Candidate[]> {
  const found: Candidate[] = [];
  const manifests = budget.join(location.root, "manifests");
  for (const host of await budget.list(manifests))
    for (const namespace of await budget.list(host.path))
      for (const model of await budget.list(namespace.path))
        for (const tag of await budget.list(model.path)) {
          const parsed = ollamaManifest.safeParse(await readSmallJson(tag.path));
          if (!parsed.success) continue;
          const layer = parsed.data.layers.find((l) => l.mediaType === OLLAMA_MODEL_LAYER);
          const hex = layer && /^sha256:([0-9a-f]{64})$/.exec(layer.digest)?.[1];
          if (!hex) continue;
          // Blobs are named sha256-<hex>; releases before 0.1.30 used sha256:<hex> outside Windows.
          for (const blobName of [`sha256-${hex}`, `sha256:${hex}`]) {
            const blob = budget.join(location.root, "blobs", blobName);
            if ((await entryKind(blob)) !== "file") continue;
            found.push({
              path: blob,
              name: ollamaName(host.name, namespace.name, model.name, tag.name),
              source: "ollama",
            });
            break;
          }
        }
  return found;
}

/** LM Studio's own pointers to a moved models folder: ~/.lmstudio-home-pointer and settings.json. */
async function lmStudioCustomRoots(home: string, platform: NodeJS.Platform): Promise<ModelLocation[]> {
  const { join, isAbsolute } = pathsFor(platform);
  const roots: string[] = [];
  try {
    const handle = await open(join(home, ".lmstudio-home-pointer"), "r");
    try {
      const bytes = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
      const pointer = bytes.subarray(0, bytesRead).toString("utf8").trim();
      if (pointer && isAbsolute(pointer)) roots.push(join(pointer, "models"));
    } finally {
      await handle.close();
    }
  } catch {
    // No pointer: LM Studio is in its default place (or not installed).
  }
  const settings = z
    .object({ downloadsFolder: z.string() })
    .safeParse(await readSmallJson(join(home, ".lmstudio", "settings.json")));
  if (settings.success && isAbsolute(settings.data.downloadsFolder))
    roots.push(settings.data.downloadsFolder);
  return roots.map((root) => ({ source: "lm-studio", root, layout: "folders", depth: 3 }));
}

/** Whisper.cpp's ggml magic ("ggml" as a little-endian u32) at the start of a .bin file. */
async function hasWhisperMagic(path: string): Promise<boolean> {
  try {
    const handle = await open(path, "r");
    try {
      const head = Buffer.alloc(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0);
      return bytesRead === 4 && head.readUInt32LE(0) === 0x67676d6c;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/**
 * Scans the usual places for models Duet can run: every location of `modelLocations()` plus LM
 * Studio's moved folders. Each file is validated from its header; the same file reached twice
 * (a Hugging Face blob under two revisions, a folder linked into another) is listed once.
 */
export async function findModels(options: FindModelsOptions = {}): Promise<FoundModelsScan> {
  const platform = options.platform ?? process.platform;
  const home = options.home ?? homedir();
  const budget = new Budget(options.maxEntries ?? 20_000, options.signal, pathsFor(platform).join);
  const locations = [
    ...modelLocations({ ...options, platform, home }),
    ...(await lmStudioCustomRoots(home, platform)),
  ];
  const scan: FoundModelsScan = { models: [], skipped: [] };
  const seen = new Set<string>();
  const seenRoots = new Set<string>();
  for (const location of locations) {
    // A root that is a link to another root (or the same folder named twice) is scanned once.
    const rootKey = await realpath(location.root).catch(() => undefined);
    if (!rootKey || seenRoots.has(rootKey)) continue;
    seenRoots.add(rootKey);
    const candidates =
      location.layout === "ollama"
        ? await ollamaCandidates(location, budget)
        : location.layout === "hugging-face"
          ? await huggingFaceCandidates(location, budget)
          : await folderCandidates(location, budget);
    for (const candidate of candidates) {
      if (options.signal?.aborted) throw abortError(options.signal);
      const real = await realpath(candidate.path).catch(() => undefined);
      if (!real || seen.has(real)) continue;
      seen.add(real);
      await validateCandidate(candidate, scan);
    }
  }
  return scan;
}

async function validateCandidate(candidate: Candidate, scan: FoundModelsScan): Promise<void> {
  const isGguf = candidate.source === "ollama" || /\.gguf$/i.test(candidate.path);
  if (!isGguf && !(await hasWhisperMagic(candidate.path))) return; // some other .bin (PyTorch weights)
  try {
    const validated = isGguf
      ? await validateLlmFile(candidate.path)
      : await validateWhisperFile(candidate.path);
    if (validated.kind !== "llm" && validated.kind !== "stt") return;
    scan.models.push({
      path: candidate.path,
      kind: validated.kind,
      name: candidate.name,
      source: candidate.source,
      sizeBytes: validated.sizeBytes,
      details: validated.details,
    });
  } catch (error) {
    scan.skipped.push({
      path: candidate.path,
      name: candidate.name,
      source: candidate.source,
      reason: isDuetError(error) ? error.message : `It could not be read: ${String(error)}`,
    });
  }
}
