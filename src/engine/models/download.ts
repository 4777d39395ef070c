import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { dirname } from "node:path";
import { formatBytes } from "../../shared/format.js";
import { DuetError } from "../errors.js";
import type { Digest } from "./catalog.js";

/**
 * Downloads one file: resumable (HTTP Range, across process restarts), retried with backoff,
 * checked against a digest, moved into place atomically, and never silently stuck (a stall is
 * detected and retried). node-llama-cpp's downloader (ipull) resumes and splits files too, but it
 * cannot verify a checksum, check free disk space, detect a stalled server for our tests, or fetch
 * non-GGUF files such as whisper models and voices, so Duet has its own, small one.
 */

export interface DownloadProgress {
  receivedBytes: number;
  /** null while the server has not said. */
  totalBytes: number | null;
  /** Moving average over the last seconds. */
  bytesPerSecond: number;
  etaSeconds: number | null;
  attempt: number;
  /** The download continued a partial file. */
  resumed: boolean;
}

export interface DownloadOptions {
  url: string;
  destination: string;
  /** Expected size; when the server reports another size the download fails (the file changed). */
  expectedBytes?: number;
  digest?: Digest | null;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Attempts after the first failure. Default 5. */
  retries?: number;
  /** First backoff in ms, doubled each retry. Default 1000. */
  backoffMs?: number;
  /** A connection that sends nothing for this long is dropped and retried. Default 30000. */
  stallTimeoutMs?: number;
  /** Free bytes on the destination's disk (injectable for tests). Default: statfs. */
  freeBytes?: (folder: string) => Promise<number>;
  headers?: Record<string, string>;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** The file's sha256 (always computed, so a later check can detect corruption). */
  sha256: string;
}

export type DownloadErrorReason =
  | "http-status"
  | "network"
  | "stalled"
  | "checksum"
  | "size-mismatch"
  | "disk-full"
  | "cancelled"
  | "filesystem";

export class DownloadError extends DuetError {
  constructor(
    readonly reason: DownloadErrorReason,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(reason === "cancelled" ? "aborted" : "model-unreadable", message, options);
    this.name = "DownloadError";
  }
}

interface PartialInfo {
  url: string;
  etag: string | null;
  totalBytes: number | null;
}

/** Where an unfinished download of `destination` is written, and the note of where it came from. */
export const partPath = (destination: string) => `${destination}.part`;
export const infoPath = (destination: string) => `${destination}.part.json`;

export async function defaultFreeBytes(folder: string): Promise<number> {
  const s = await statfs(folder);
  return s.bavail * s.bsize;
}

/** The file's size, or 0 when it cannot be read. */
export async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readPartialInfo(destination: string): Promise<PartialInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(infoPath(destination), "utf8")) as Partial<PartialInfo>;
    if (typeof parsed.url !== "string") return undefined;
    return {
      url: parsed.url,
      etag: typeof parsed.etag === "string" ? parsed.etag : null,
      totalBytes: typeof parsed.totalBytes === "number" ? parsed.totalBytes : null,
    };
  } catch {
    return undefined;
  }
}

export type HashAlgorithm = Digest["algorithm"];

/** The file's hex digest; given several algorithms, all of them from one read of the file. */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string>;
export async function hashFile<A extends HashAlgorithm>(
  path: string,
  algorithms: readonly A[],
): Promise<Record<A, string>>;
export async function hashFile(
  path: string,
  which: HashAlgorithm | readonly HashAlgorithm[],
): Promise<string | Partial<Record<HashAlgorithm, string>>> {
  const algorithms = typeof which === "string" ? [which] : [...new Set(which)];
  const hashes = algorithms.map((algorithm) => createHash(algorithm));
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    for (const hash of hashes) hash.update(chunk as Buffer);
  if (typeof which === "string") return hashes[0]!.digest("hex");
  return Object.fromEntries(algorithms.map((algorithm, i) => [algorithm, hashes[i]!.digest("hex")]));
}

function request(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    const req = get(url, { headers, signal }, (response) => resolve(response));
    req.on("error", reject);
  });
}

/** Follows up to 5 redirects (Hugging Face redirects to its CDN). */
async function fetchFollowing(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ response: IncomingMessage; url: string }> {
  let current = url;
  for (let hop = 0; hop < 6; hop++) {
    const response = await request(current, headers, signal);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      current = new URL(response.headers.location, current).toString();
      continue;
    }
    return { response, url: current };
  }
  throw new DownloadError("http-status", `Too many redirects for ${url}.`, false);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new DownloadError("cancelled", "The download was cancelled.", false));
      },
      { once: true },
    );
  });

/** One attempt: continues the partial file if the server allows, else starts over. */
async function attempt(options: DownloadOptions, attemptNumber: number): Promise<void> {
  const { destination, url } = options;
  const part = partPath(destination);
  const info = await readPartialInfo(destination);
  let have = info?.url === url ? await sizeOf(part) : 0;
  if (have === 0) await rm(part, { force: true });

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let stallTimer: NodeJS.Timeout | undefined;
  let stalled = false;
  const armStall = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, options.stallTimeoutMs ?? 30_000);
  };
  try {
    const headers: Record<string, string> = { "user-agent": "Duet", ...options.headers };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      if (info?.etag) headers["if-range"] = info.etag;
    }
    armStall();
    const { response } = await fetchFollowing(url, headers, controller.signal);
    const status = response.statusCode ?? 0;
    if (status === 416 && have > 0 && info?.totalBytes === have) {
      response.resume();
      return; // already complete
    }
    if (status !== 200 && status !== 206) {
      response.resume();
      const retryable = status >= 500 || status === 429 || status === 408;
      throw new DownloadError(
        "http-status",
        status === 404
          ? `The server has no file at ${url} (HTTP 404). The catalog entry or the mirror may be out of date.`
          : `The server answered HTTP ${status} for ${url}.`,
        retryable,
      );
    }
    const resumed = status === 206 && have > 0;
    if (!resumed) have = 0;
    const length = Number(response.headers["content-length"] ?? NaN);
    const totalBytes = Number.isFinite(length) ? length + have : null;
    if (totalBytes !== null && options.expectedBytes !== undefined && totalBytes !== options.expectedBytes) {
      response.resume();
      throw new DownloadError(
        "size-mismatch",
        `The server's file is ${totalBytes} bytes, not the ${options.expectedBytes} expected: it changed or the mirror serves another file.`,
        false,
      );
    }
    if (totalBytes !== null) {
      const free = await (options.freeBytes ?? defaultFreeBytes)(dirname(destination));
      const needed = totalBytes - have;
      if (free < needed + 64 * 2 ** 20) {
        response.resume();
        throw new DownloadError(
          "disk-full",
          `Not enough disk space: ${formatBytes(needed)} are needed in ${dirname(destination)} but only ${formatBytes(free)} are free.`,
          false,
        );
      }
    }
    const etag = typeof response.headers.etag === "string" ? response.headers.etag : null;
    await writeFile(infoPath(destination), JSON.stringify({ url, etag, totalBytes } satisfies PartialInfo));

    const file = await open(part, resumed ? "a" : "w");
    let received = have;
    const window: Array<[number, number]> = [[performance.now(), received]];
    let lastReport = 0;
    const report = (force = false) => {
      const now = performance.now();
      if (!force && now - lastReport < 200) return;
      lastReport = now;
      window.push([now, received]);
      while (window.length > 2 && now - window[0]![0] > 5000) window.shift();
      const [t0, b0] = window[0]!;
      const bytesPerSecond = now > t0 ? ((received - b0) * 1000) / (now - t0) : 0;
      options.onProgress?.({
        receivedBytes: received,
        totalBytes,
        bytesPerSecond,
        etaSeconds:
          totalBytes !== null && bytesPerSecond > 0 ? (totalBytes - received) / bytesPerSecond : null,
        attempt: attemptNumber,
        resumed,
      });
    };
    try {
      report(true);
      for await (const chunk of response) {
        armStall();
        await file.write(chunk as Buffer);
        received += (chunk as Buffer).length;
        report();
      }
    } finally {
      await file.close();
    }
    report(true);
    if (totalBytes !== null && received !== totalBytes) {
      throw new DownloadError(
        "network",
        `The connection closed after ${formatBytes(received)} of ${formatBytes(totalBytes)}.`,
        true,
      );
    }
  } catch (error) {
    if (options.signal?.aborted)
      throw new DownloadError("cancelled", "The download was cancelled.", false, { cause: error });
    if (stalled)
      throw new DownloadError(
        "stalled",
        `The server stopped sending data for ${((options.stallTimeoutMs ?? 30_000) / 1000).toFixed(0)} s.`,
        true,
        { cause: error },
      );
    if (error instanceof DownloadError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOSPC")
      throw new DownloadError("disk-full", "The disk became full during the download.", false, {
        cause: error,
      });
    throw new DownloadError("network", `Network error: ${(error as Error).message}.`, true, { cause: error });
  } finally {
    clearTimeout(stallTimer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Downloads `url` to `destination`. A `.part` file (with a `.part.json` note of where it came
 * from) survives cancellation and crashes; the next call continues it.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { destination } = options;
  try {
    await mkdir(dirname(destination), { recursive: true });
  } catch (error) {
    throw new DownloadError(
      "filesystem",
      `Cannot create ${dirname(destination)}: ${(error as Error).message}`,
      false,
      { cause: error },
    );
  }
  const retries = options.retries ?? 5;
  for (let n = 0; n <= retries; n++) {
    if (options.signal?.aborted) throw new DownloadError("cancelled", "The download was cancelled.", false);
    try {
      await attempt(options, n + 1);
      break;
    } catch (error) {
      // The last attempt's failure, like any that is not worth retrying, is the download's.
      const failure =
        error instanceof DownloadError ? error : new DownloadError("network", String(error), true);
      if (!failure.retryable || n === retries) throw failure;
      await sleep((options.backoffMs ?? 1000) * 2 ** n, options.signal);
    }
  }

  const part = partPath(destination);
  const hashes = await hashFile(part, options.digest ? ["sha256", options.digest.algorithm] : ["sha256"]);
  const sha256 = hashes.sha256;
  if (options.digest) {
    const actual = hashes[options.digest.algorithm];
    if (actual !== options.digest.value) {
      await rm(part, { force: true });
      await rm(infoPath(destination), { force: true });
      throw new DownloadError(
        "checksum",
        `The downloaded file is damaged or not the expected one: its ${options.digest.algorithm} is ${actual}, expected ${options.digest.value}. It was deleted; try again.`,
        false,
      );
    }
  }
  const bytes = await sizeOf(part);
  await rename(part, destination);
  await rm(infoPath(destination), { force: true });
  return { path: destination, bytes, sha256 };
}

/** Runs downloads with at most `limit` at a time. */
export class DownloadQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit = 2) {}

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", cancel);
          resolve();
        };
        const cancel = () => {
          const index = this.waiting.indexOf(go);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(new DownloadError("cancelled", "The download was cancelled before it started.", false));
        };
        signal?.addEventListener("abort", cancel, { once: true });
        this.waiting.push(go);
      });
    }
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
