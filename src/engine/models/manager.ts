import { execFile } from "node:child_process";
import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { DuetError } from "../errors.js";
import type { SettingsStore } from "../settings/store.js";
import { catalog, resolveDownloadUrl, type CatalogEntry, type ModelKind } from "./catalog.js";
import {
  DownloadQueue,
  downloadFile,
  hashFile,
  infoPath,
  partPath,
  sizeOf,
  type DownloadOptions,
  type DownloadProgress,
  type HashAlgorithm,
} from "./download.js";
import {
  validateLlmFile,
  validateModelPath,
  validateOnnxFile,
  validateVoiceFolder,
  validateWhisperFile,
  type ValidatedModel,
} from "./validate.js";

const run = promisify(execFile);

export interface ModelStatus {
  id: string;
  name: string;
  kind: ModelKind;
  /** From the catalog, imported from elsewhere, or a file the user put in the models folder. */
  source: "catalog" | "imported" | "folder";
  installed: boolean;
  /** Where it is (or will be) on disk. */
  path: string;
  sizeBytes: number;
  /** Bytes already downloaded of an interrupted download. */
  partialBytes: number;
  verified: boolean;
  description: string;
}

export interface VerifyResult {
  id: string;
  path: string;
  ok: boolean;
  problem?: string;
}

export interface ModelManagerOptions {
  /** Where downloaded models go. */
  folder: string;
  settings: SettingsStore;
  /** At most this many downloads at once. Default 2. */
  parallelDownloads?: number;
  /** Passed to each download (tests shorten timeouts and fake disk space). */
  downloadDefaults?: Partial<Omit<DownloadOptions, "url" | "destination">>;
  /** Catalog override (tests). */
  entries?: readonly CatalogEntry[];
}

/** Downloads, imports, verifies and removes models; the settings hold what the user picked and imported. */
export class ModelManager {
  private readonly queue: DownloadQueue;
  private readonly active = new Map<string, Promise<ModelStatus>>();

  constructor(private readonly options: ModelManagerOptions) {
    this.queue = new DownloadQueue(options.parallelDownloads ?? 2);
  }

  private get entries(): readonly CatalogEntry[] {
    return this.options.entries ?? catalog();
  }

  private entry(id: string): CatalogEntry {
    const entry = this.entries.find((e) => e.id === id);
    if (!entry) {
      throw new DuetError(
        "invalid-argument",
        `Unknown model "${id}". Known: ${this.entries.map((e) => e.id).join(", ")}.`,
      );
    }
    return entry;
  }

  /** The file (or, for archives, the folder) a catalog entry installs to. */
  installPath(entry: CatalogEntry): string {
    return join(
      this.options.folder,
      entry.archive ? entry.fileName.replace(/\.tar\.bz2$/, "") : entry.fileName,
    );
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  }

  async list(): Promise<ModelStatus[]> {
    const out: ModelStatus[] = [];
    for (const entry of this.entries) {
      const path = this.installPath(entry);
      const partialBytes = await sizeOf(partPath(join(this.options.folder, entry.fileName)));
      out.push({
        id: entry.id,
        name: entry.name,
        kind: entry.kind,
        source: "catalog",
        installed: await this.exists(path),
        path,
        sizeBytes: entry.sizeBytes,
        partialBytes,
        verified: entry.verified,
        description: entry.description,
      });
    }
    // Model files the user copied into the folder themselves.
    const known = new Set(this.entries.flatMap((e) => [e.fileName, basename(this.installPath(e))]));
    const names = await readdir(this.options.folder).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (known.has(name)) continue;
      const kind: ModelKind | undefined = /\.gguf$/i.test(name)
        ? "llm"
        : /^ggml-.*\.bin$/i.test(name)
          ? "stt"
          : undefined;
      if (!kind) continue;
      const path = join(this.options.folder, name);
      out.push({
        id: path,
        name,
        kind,
        source: "folder",
        installed: true,
        path,
        sizeBytes: await sizeOf(path),
        partialBytes: 0,
        verified: false,
        description: "Found in your models folder.",
      });
    }
    for (const imported of this.options.settings.get().models.imported) {
      const info = await stat(imported.path).catch(() => undefined);
      out.push({
        id: imported.path,
        name: imported.name,
        kind: imported.kind,
        source: "imported",
        installed: info !== undefined,
        path: imported.path,
        sizeBytes: info?.size ?? 0,
        partialBytes: 0,
        verified: false,
        description: "Imported from your disk.",
      });
    }
    return out;
  }

  /**
   * Downloads a catalog model (continuing an interrupted download), checks it, unpacks voices,
   * and records the file's sha256 so `verify` can detect later corruption.
   */
  async download(
    id: string,
    options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
  ): Promise<ModelStatus> {
    const existing = this.active.get(id);
    if (existing) return existing;
    const entry = this.entry(id);
    const promise = this.queue
      .run(async () => {
        await mkdir(this.options.folder, { recursive: true });
        const destination = join(this.options.folder, entry.fileName);
        const url = resolveDownloadUrl(entry.uri, this.options.settings.get().models.mirrorBaseUrl);
        const result = await downloadFile({
          ...this.options.downloadDefaults,
          url,
          destination,
          digest: entry.digest,
          ...(entry.verified ? { expectedBytes: entry.sizeBytes } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        });
        await writeFile(`${destination}.sha256`, `${result.sha256}\n`);
        if (entry.archive) await this.unpack(destination, entry);
        await this.check(entry, this.installPath(entry));
        return (await this.list()).find((m) => m.id === id)!;
      }, options.signal)
      .finally(() => this.active.delete(id));
    this.active.set(id, promise);
    return promise;
  }

  private async unpack(archive: string, entry: CatalogEntry): Promise<void> {
    try {
      // tar with bzip2 ships with Linux, macOS and Windows 10 (1803) and later.
      await run("tar", ["-xjf", archive, "-C", this.options.folder], { timeout: 10 * 60_000 });
    } catch (error) {
      throw new DuetError(
        "model-unreadable",
        `Could not unpack ${entry.fileName}: ${(error as Error).message.split("\n")[0]}`,
        { cause: error },
      );
    }
  }

  private async check(entry: CatalogEntry, path: string): Promise<ValidatedModel> {
    switch (entry.kind) {
      case "llm":
        return validateLlmFile(path);
      case "stt":
        return validateWhisperFile(path);
      case "tts":
        return validateVoiceFolder(path);
      case "vad":
        return validateOnnxFile(path, "vad");
    }
  }

  /** Checks a local file or voice folder and adds it to the user's models (the file stays where it is). */
  async import(path: string): Promise<ModelStatus> {
    const validated = await validateModelPath(path);
    const imported = this.options.settings.get().models.imported.filter((m) => m.path !== validated.path);
    imported.push({ path: validated.path, kind: validated.kind, name: validated.name });
    await this.options.settings.update({ models: { imported } });
    return (await this.list()).find((m) => m.id === validated.path)!;
  }

  /** Re-checks every installed model: headers, and the recorded or published checksum. */
  async verify(): Promise<VerifyResult[]> {
    const results: VerifyResult[] = [];
    for (const status of await this.list()) {
      if (!status.installed) continue;
      try {
        if (status.source !== "catalog") {
          await validateModelPath(status.path);
        } else {
          const entry = this.entry(status.id);
          await this.check(entry, status.path);
          if (!entry.archive) {
            const file = join(this.options.folder, entry.fileName);
            const recorded = await readFile(`${file}.sha256`, "utf8").catch(() => undefined);
            // Both checksums from one read of the file; the published one is compared first.
            const algorithms: HashAlgorithm[] = [
              ...(entry.digest ? [entry.digest.algorithm] : []),
              ...(recorded ? ["sha256" as const] : []),
            ];
            const hashes: Partial<Record<HashAlgorithm, string>> =
              algorithms.length > 0 ? await hashFile(file, algorithms) : {};
            if (entry.digest) {
              const actual = hashes[entry.digest.algorithm];
              if (actual !== entry.digest.value)
                throw new Error(`${entry.digest.algorithm} is ${actual}, published ${entry.digest.value}`);
            }
            if (recorded && hashes.sha256 !== recorded.trim())
              throw new Error("the file changed since it was downloaded");
          }
        }
        results.push({ id: status.id, path: status.path, ok: true });
      } catch (error) {
        results.push({ id: status.id, path: status.path, ok: false, problem: (error as Error).message });
      }
    }
    return results;
  }

  /** Deletes a downloaded model (and any partial download); forgets an imported one without deleting it. */
  async remove(id: string): Promise<void> {
    const settings = this.options.settings.get();
    const imported = settings.models.imported.find((m) => m.path === id);
    if (imported) {
      await this.options.settings.update({
        models: { imported: settings.models.imported.filter((m) => m.path !== id) },
      });
      return;
    }
    const entry = this.entry(id);
    if (this.active.has(id))
      throw new DuetError("engine-busy", `${entry.name} is downloading; cancel the download first.`);
    const file = join(this.options.folder, entry.fileName);
    for (const path of [file, partPath(file), infoPath(file), `${file}.sha256`])
      await rm(path, { force: true });
    if (entry.archive) await rm(this.installPath(entry), { recursive: true, force: true });
  }
}
