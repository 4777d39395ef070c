import { execFile } from "node:child_process";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { DuetError } from "../errors.js";
import { explainError } from "../fileErrors.js";
import type { SettingsStore } from "../settings/store.js";
import { catalog, resolveDownloadUrl, type CatalogEntry, type ModelKind } from "./catalog.js";
import {
  DownloadError,
  DownloadQueue,
  downloadFile,
  infoPath,
  partPath,
  sizeOf,
  unverifiedPath,
  type DownloadOptions,
  type DownloadProgress,
} from "./download.js";
import { sha256File } from "./hashFile.js";
import { readReceipt, receiptPath, writeReceipt, type Receipt } from "./receipt.js";
import { extractTarMember } from "./tarMember.js";
import { findModels, SOURCE_NAMES, type FindModelsOptions, type FoundModelsScan } from "./foundModels.js";
import {
  validateLlmFile,
  validateModelPath,
  validateOnnxFile,
  validateVoiceFolder,
  validateWhisperFile,
  type ValidatedModel,
} from "./validate.js";

const run = promisify(execFile);

export type { ModelStatus } from "../../shared/models.js";
import type { ModelStatus } from "../../shared/models.js";

export interface VerifyResult {
  id: string;
  path: string;
  ok: boolean;
  /** What the file was checked against: its published checksum, the server's, or only its header. */
  checkedAgainst?: "catalog" | "server" | "header";
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
  /** Where to look for other apps' models (tests give a fake home). Default: this user's folders. */
  findModels?: FindModelsOptions;
}

/** A header check of a file Duet did not install itself, valid while the file's size and time stay. */
interface FileCheck {
  size: number;
  mtimeMs: number;
  problem: string | undefined;
}

/** How long a scan of other apps' folders is reused before the next look. */
const FOUND_MODELS_TTL_MS = 30_000;

/** Downloads, imports, verifies and removes models; the settings hold what the user picked and imported. */
export class ModelManager {
  private readonly queue: DownloadQueue;
  private readonly active = new Map<string, Promise<ModelStatus>>();
  private foundScan: { at: number; scan: Promise<FoundModelsScan> } | undefined;
  private readonly fileChecks = new Map<string, FileCheck>();

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

  /** The file (or, for a voice archive, the folder) a catalog entry installs to. */
  installPath(entry: CatalogEntry): string {
    const archive = entry.archive;
    return join(
      this.options.folder,
      archive?.format === "tar.bz2"
        ? entry.fileName.replace(/\.tar\.bz2$/, "")
        : archive?.format === "tgz"
          ? archive.installAs
          : entry.fileName,
    );
  }

  /** The sha256 and size the installed file must have (no size for a folder). */
  private installedIdentity(entry: CatalogEntry): { sha256: string | null; sizeBytes: number | null } {
    const archive = entry.archive;
    if (archive?.format === "tgz") return { sha256: archive.sha256, sizeBytes: archive.sizeBytes };
    return { sha256: entry.sha256, sizeBytes: archive ? null : entry.sizeBytes };
  }

  /** A receipt proves the installed file when it names the catalog's sha256 (or, without one, the server's). */
  private receiptProves(entry: CatalogEntry, receipt: Receipt | undefined): boolean {
    const expected = this.installedIdentity(entry).sha256;
    if (!receipt) return false;
    return expected !== null ? receipt.sha256 === expected : receipt.checkedAgainst === "server";
  }

  /** Whether a catalog entry is installed: its file is there, with a receipt that proves it, at its size. */
  private async installState(entry: CatalogEntry): Promise<{ installed: boolean; problem?: string }> {
    const path = this.installPath(entry);
    if (!(await this.exists(path))) {
      const kept = await this.exists(unverifiedPath(join(this.options.folder, entry.fileName)));
      return kept
        ? {
            installed: false,
            problem: `A download was kept unverified as ${unverifiedPath(entry.fileName)}: no checksum was available to check it.`,
          }
        : { installed: false };
    }
    const { sizeBytes } = this.installedIdentity(entry);
    if (
      this.receiptProves(entry, await readReceipt(path)) &&
      (sizeBytes === null || (await sizeOf(path)) === sizeBytes)
    )
      return { installed: true };
    return {
      installed: false,
      problem:
        `${basename(path)} is in the models folder but has not been checked against the catalog's checksum: ` +
        `run "npm run models -- verify" to check it, or download it again.`,
    };
  }

  /**
   * Why a model file the user put in place (in the models folder, or imported) cannot be used:
   * its header is checked like an import's (damaged, truncated, not a model, an architecture Duet
   * cannot run), once per version of the file. Undefined when it checks out or is not there.
   */
  private async fileProblem(path: string, kind: ModelKind): Promise<string | undefined> {
    const info = await stat(path).catch(() => undefined);
    if (!info) return undefined;
    const cached = this.fileChecks.get(path);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.problem;
    let problem: string | undefined;
    try {
      if (kind === "llm") await validateLlmFile(path);
      else if (kind === "stt") await validateWhisperFile(path);
      else if (info.isDirectory()) await validateVoiceFolder(path);
      else await validateOnnxFile(path, kind);
    } catch (error) {
      problem = explainError(error);
    }
    this.fileChecks.set(path, { size: info.size, mtimeMs: info.mtimeMs, problem });
    return problem;
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Every model Duet knows of: the catalog's, files in the models folder, imported ones and, with
   * `found`, models in other apps' folders (a bounded scan, reused for half a minute).
   */
  async list(options: { found?: boolean } = {}): Promise<ModelStatus[]> {
    const out: ModelStatus[] = [];
    for (const entry of this.entries) {
      const path = this.installPath(entry);
      const partialBytes = await sizeOf(partPath(join(this.options.folder, entry.fileName)));
      const { installed, problem } = await this.installState(entry);
      out.push({
        id: entry.id,
        name: entry.name,
        kind: entry.kind,
        source: "catalog",
        installed,
        path,
        sizeBytes: entry.sizeBytes,
        partialBytes,
        verified: installed,
        ...(problem ? { problem } : {}),
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
      const problem = await this.fileProblem(path, kind);
      out.push({
        id: path,
        name,
        kind,
        source: "folder",
        installed: problem === undefined,
        path,
        sizeBytes: await sizeOf(path),
        partialBytes: 0,
        verified: false,
        ...(problem ? { problem } : {}),
        description: "Found in your models folder.",
      });
    }
    for (const imported of this.options.settings.get().models.imported) {
      const info = await stat(imported.path).catch(() => undefined);
      // Checked when it was imported; checked again once the file changed.
      const problem = info ? await this.fileProblem(imported.path, imported.kind) : undefined;
      out.push({
        id: imported.path,
        name: imported.name,
        kind: imported.kind,
        source: "imported",
        installed: info !== undefined && problem === undefined,
        path: imported.path,
        sizeBytes: info?.size ?? 0,
        partialBytes: 0,
        verified: false,
        ...(problem ? { problem } : {}),
        description: "Imported from your disk.",
      });
    }
    if (options.found) {
      const known = new Set(out.map((m) => m.path));
      for (const found of (await this.scanOtherApps()).models) {
        if (known.has(found.path)) continue;
        known.add(found.path);
        const app = SOURCE_NAMES[found.source];
        out.push({
          id: found.path,
          name: found.name,
          kind: found.kind,
          source: "found",
          foundIn: app,
          installed: true,
          path: found.path,
          sizeBytes: found.sizeBytes,
          partialBytes: 0,
          verified: false,
          description: `Found in ${app}'s folder; used where it is, never copied.`,
        });
      }
    }
    return out;
  }

  /**
   * Downloads a catalog model (continuing an interrupted download), checks it against the
   * catalog's checksum, unpacks archives, and only then installs it under its final name with a
   * receipt (docs/downloads.md).
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
        const plainFile = !entry.archive;
        const result = await downloadFile({
          ...this.options.downloadDefaults,
          url,
          destination,
          ...(entry.sha256 ? { sha256: entry.sha256, expectedBytes: entry.sizeBytes } : {}),
          // A model file is checked (and its receipt written) before it gets its final name.
          ...(plainFile
            ? {
                accept: async (part, verified) => {
                  await this.check(entry, part);
                  await writeReceipt(destination, verified);
                },
              }
            : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        });
        const archive = entry.archive;
        if (archive) {
          options.onProgress?.({
            phase: "installing",
            receivedBytes: result.bytes,
            totalBytes: result.bytes,
            bytesPerSecond: 0,
            etaSeconds: null,
            attempt: 1,
            resumed: false,
          });
          const receipt: Receipt = { sha256: result.sha256, checkedAgainst: result.checkedAgainst };
          try {
            if (archive.format === "tar.bz2") await this.unpackFolder(destination, entry, receipt);
            else await this.installMember(destination, entry, archive.member);
          } finally {
            // The archive is of no use once unpacked, or when what it holds cannot be installed.
            await rm(destination, { force: true });
          }
        }
        return (await this.list()).find((m) => m.id === id)!;
      }, options.signal)
      .finally(() => this.active.delete(id));
    this.active.set(id, promise);
    return promise;
  }

  /** Unpacks a voice archive into a scratch folder, checks the voice, then moves it into place. */
  private async unpackFolder(archive: string, entry: CatalogEntry, receipt: Receipt): Promise<void> {
    const target = this.installPath(entry);
    const scratch = join(this.options.folder, `.${entry.id}.unpacking`);
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    try {
      try {
        // tar with bzip2 ships with Linux, macOS and Windows 10 (1803) and later.
        await run("tar", ["-xjf", archive, "-C", scratch], { timeout: 10 * 60_000 });
      } catch (error) {
        throw new DuetError(
          "model-unreadable",
          `Could not unpack ${entry.fileName}: ${(error as Error).message.split("\n")[0]}`,
          { cause: error },
        );
      }
      const unpacked = join(scratch, basename(target));
      await this.check(entry, unpacked);
      await rm(target, { recursive: true, force: true });
      await writeReceipt(target, receipt);
      await rename(unpacked, target);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Takes the one file a package tarball is downloaded for, checks it against its own checksum and installs it. */
  private async installMember(archive: string, entry: CatalogEntry, member: string): Promise<void> {
    const target = this.installPath(entry);
    const part = partPath(target);
    const expected = this.installedIdentity(entry);
    const extracted = await extractTarMember(archive, member, part);
    if (extracted.sha256 !== expected.sha256 || extracted.bytes !== expected.sizeBytes) {
      await rm(part, { force: true });
      throw new DownloadError(
        "checksum",
        `${member} in ${entry.fileName} is not the expected file (sha256 ${extracted.sha256}, ${extracted.bytes} bytes; ` +
          `expected ${expected.sha256}, ${expected.sizeBytes} bytes). Nothing was installed.`,
        false,
      );
    }
    try {
      await this.check(entry, part);
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
    await writeReceipt(target, { sha256: extracted.sha256, checkedAgainst: "catalog" });
    await rename(part, target);
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

  private scanOtherApps(): Promise<FoundModelsScan> {
    const now = Date.now();
    if (!this.foundScan || now - this.foundScan.at > FOUND_MODELS_TTL_MS) {
      const scan = findModels(this.options.findModels ?? {}).catch(() => ({ models: [], skipped: [] }));
      this.foundScan = { at: now, scan };
    }
    return this.foundScan.scan;
  }

  /** Checks a local file or voice folder and adds it to the user's models (the file stays where it is). */
  async import(path: string): Promise<ModelStatus> {
    const validated = await validateModelPath(path);
    const imported = this.options.settings.get().models.imported.filter((m) => m.path !== validated.path);
    imported.push({ path: validated.path, kind: validated.kind, name: validated.name });
    await this.options.settings.update({ models: { imported } });
    return (await this.list()).find((m) => m.id === validated.path)!;
  }

  /**
   * Re-checks every model in the folder: headers, and catalog files against the catalog's sha256
   * (never against a hash of whatever was downloaded). A catalog file that matches gets its receipt,
   * so a model copied into the folder by hand counts as installed once it is proven.
   */
  async verify(): Promise<VerifyResult[]> {
    const results: VerifyResult[] = [];
    for (const status of await this.list()) {
      const entry = status.source === "catalog" ? this.entry(status.id) : undefined;
      // Every file that is there, damaged ones included: verify says what is wrong with each.
      if (!(await this.exists(status.path))) continue;
      try {
        if (!entry) {
          await validateModelPath(status.path);
          results.push({ id: status.id, path: status.path, ok: true, checkedAgainst: "header" });
          continue;
        }
        const checkedAgainst = await this.verifyCatalogFile(entry, status.path);
        results.push({ id: status.id, path: status.path, ok: true, checkedAgainst });
      } catch (error) {
        results.push({ id: status.id, path: status.path, ok: false, problem: (error as Error).message });
      }
    }
    return results;
  }

  private async verifyCatalogFile(entry: CatalogEntry, path: string): Promise<"catalog" | "server"> {
    await this.check(entry, path);
    const receipt = await readReceipt(path);
    const expected = this.installedIdentity(entry);
    if (expected.sizeBytes === null) {
      // A voice folder: its archive was checked when it was downloaded; the receipt says against what.
      if (!this.receiptProves(entry, receipt))
        throw new Error(
          "there is no record that it was checked when it was installed; download it again to be sure",
        );
      return receipt!.checkedAgainst === "server" ? "server" : "catalog";
    }
    const sha256 = expected.sha256 ?? (receipt?.checkedAgainst === "server" ? receipt.sha256 : null);
    if (sha256 === null)
      throw new Error("no checksum is known for it (neither the catalog nor the server gave one)");
    const size = await sizeOf(path);
    if (size !== expected.sizeBytes && expected.sha256 !== null)
      throw new Error(
        `it has ${size} bytes, not the ${expected.sizeBytes} of the catalog's file: it is damaged or another file; download it again`,
      );
    const actual = await sha256File(path);
    if (actual !== sha256)
      throw new Error(
        `its sha256 is ${actual}, not the published ${sha256}: it is damaged or another file; download it again`,
      );
    const checkedAgainst = expected.sha256 !== null ? "catalog" : "server";
    if (!this.receiptProves(entry, receipt)) await writeReceipt(path, { sha256, checkedAgainst });
    return checkedAgainst;
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
    const installed = this.installPath(entry);
    for (const path of [file, partPath(file), infoPath(file), unverifiedPath(file), receiptPath(file)])
      await rm(path, { force: true });
    await rm(installed, { recursive: true, force: true });
    await rm(receiptPath(installed), { force: true });
    await rm(partPath(installed), { force: true });
  }
}
