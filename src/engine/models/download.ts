import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import { formatBytes } from "../../shared/format.js";
import { DuetError } from "../errors.js";
import { explainFileError } from "../fileErrors.js";
import { sha256File } from "./hashFile.js";
import { ProgressReporter, SpeedMeter, type DownloadProgress } from "./progress.js";
import {
  TooManyRedirectsError,
  describeNetworkError,
  getFollowingRedirects,
  parseContentRange,
  parseRetryAfter,
  sizeHeader,
  unsatisfiedRangeTotal,
} from "./http.js";

/**
 * Downloads one file and installs it only once it is proven to be the expected one. The states,
 * the checks and where each checksum comes from are described in docs/downloads.md. In short:
 * bytes go to `NAME.part` (with a `NAME.part.json` note of what they are), a resumed request is
 * trusted only when the server's `Content-Range` continues the partial file exactly, failures are
 * retried with backoff (a fixed wait while offline, the server's `Retry-After` when it sends one),
 * and the finished file is hashed and compared with the publisher's sha256 (from the catalog, or
 * the `X-Linked-Etag` the server announced) before it gets its final name.
 *
 * node-llama-cpp's downloader (ipull) resumes and splits files too, but it cannot check a
 * checksum or free disk space, or fetch non-GGUF files such as whisper models and voices, so Duet
 * has its own, small one.
 */

export type { DownloadPhase, DownloadProgress } from "./progress.js";

/** Time for retries and speed; tests pass a fake one. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with a "cancelled" DownloadError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The `.part` file as the downloader writes it (tests inject a disk that fills up). */
export interface PartFile {
  write(data: Uint8Array): Promise<unknown>;
  close(): Promise<void>;
}
export type OpenPartFile = (path: string, flags: "a" | "w") => Promise<PartFile>;

export interface DownloadOptions {
  url: string;
  destination: string;
  /** The publisher's size of the file (from the catalog). A server offering another size is refused. */
  expectedBytes?: number;
  /**
   * The publisher's sha256 of the file (from the catalog). Without it, the sha256 the server
   * announces (`X-Linked-Etag`) is used; with neither, the file is kept as `NAME.unverified` and
   * the download fails with reason "unverified".
   */
  sha256?: string | null;
  /** A further check of the verified file before it gets its final name; a throw deletes it. */
  accept?: (path: string, verified: Pick<DownloadResult, "sha256" | "checkedAgainst">) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Failed attempts in a row (without new bytes) before giving up. Default 5. */
  retries?: number;
  /** First wait after a server or transfer failure, doubled each time. Default 1000 ms. */
  backoffMs?: number;
  /** The longest backoff. Default 60 s. */
  maxBackoffMs?: number;
  /** The wait between tries while the network or the server cannot be reached. Default 10 s. */
  offlineRetryMs?: number;
  /** A server asking (`Retry-After`) to wait longer than this ends the download. Default 5 minutes. */
  maxRetryAfterMs?: number;
  /** A server that does not answer a request within this is given up for this try. Default 15 s. */
  connectTimeoutMs?: number;
  /** A connection that sends nothing for this long is dropped and retried. Default 30 s. */
  stallTimeoutMs?: number;
  /** Free bytes on the destination's disk (injectable for tests). Default: statfs. */
  freeBytes?: (folder: string) => Promise<number>;
  clock?: Clock;
  openPartFile?: OpenPartFile;
  headers?: Record<string, string>;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Where the sha256 the file was checked against came from. */
  checkedAgainst: "catalog" | "server";
}

export type DownloadErrorReason =
  | "http-status"
  | "offline"
  | "network"
  | "stalled"
  | "checksum"
  | "size-mismatch"
  | "server-mismatch"
  | "unverified"
  | "disk-full"
  | "cancelled"
  | "filesystem";

export class DownloadError extends DuetError {
  constructor(
    readonly reason: DownloadErrorReason,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; retryAfterMs?: number; keptPath?: string },
  ) {
    super(reason === "cancelled" ? "aborted" : "download-failed", message, options);
    this.name = "DownloadError";
    this.retryAfterMs = options?.retryAfterMs;
    this.keptPath = options?.keptPath;
  }
  /** The server's `Retry-After`, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** Where an unverified file was kept. */
  readonly keptPath: string | undefined;
}

/** Space kept free on top of the file, so a download never fills the disk to the last byte. */
export const DISK_MARGIN_BYTES = 64 * 2 ** 20;

/** Where an unfinished download of `destination` is written, and the note of what it is. */
export const partPath = (destination: string) => `${destination}.part`;
export const infoPath = (destination: string) => `${destination}.part.json`;
/** Where a finished file that could not be checked against any checksum is kept. */
export const unverifiedPath = (destination: string) => `${destination}.unverified`;

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

/** Resolves after `ms`, or rejects as cancelled when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cancelled = () => reject(new DownloadError("cancelled", "The download was cancelled.", false));
    if (signal?.aborted) return cancelled();
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      cancelled();
    };
    signal?.addEventListener("abort", onAbort);
  });
}

export const systemClock: Clock = { now: () => performance.now(), sleep };

const openWithFs: OpenPartFile = (path, flags) => open(path, flags);

/** What the `.part` file holds: where it came from, which file it is part of, how to continue it. */
interface PartialNote {
  url: string;
  /** The sha256 the finished file must have, when known: a partial with the same one may continue from any address. */
  sha256: string | null;
  totalBytes: number | null;
  /** A strong ETag or Last-Modified of the answer, sent as If-Range when continuing. */
  validator: string | null;
}

async function readNote(destination: string): Promise<PartialNote | undefined> {
  const parsed = (await readFile(infoPath(destination), "utf8")
    .then((text) => JSON.parse(text) as unknown)
    .catch(() => undefined)) as Record<string, unknown> | null | undefined;
  if (typeof parsed?.url !== "string") return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return {
    url: parsed.url,
    sha256: text(parsed.sha256),
    totalBytes: typeof parsed.totalBytes === "number" ? parsed.totalBytes : null,
    // Notes written before If-Range used the validator called it etag.
    validator: text(parsed.validator) ?? text(parsed.etag),
  };
}

async function discardPartial(destination: string): Promise<void> {
  await rm(partPath(destination), { force: true });
  await rm(infoPath(destination), { force: true });
}

/** Everything one download needs across its attempts. */
class Job {
  readonly clock: Clock;
  readonly progress: ProgressReporter;
  /** The sha256 the server announced for the file, once seen. */
  serverSha256: string | null = null;

  constructor(readonly options: DownloadOptions) {
    this.clock = options.clock ?? systemClock;
    this.progress = new ProgressReporter(() => this.clock.now(), options.onProgress);
  }

  get destination(): string {
    return this.options.destination;
  }
  get host(): string {
    return new URL(this.options.url).host;
  }
  /** The sha256 the finished file must have. */
  get expectedSha256(): string | null {
    return this.options.sha256 ?? this.serverSha256;
  }

  report(progress: Omit<DownloadProgress, "bytesPerSecond" | "etaSeconds">, bytesPerSecond = 0): void {
    this.progress.report(progress, bytesPerSecond);
  }

  async cancelled(): Promise<DownloadError> {
    const kept = await sizeOf(partPath(this.destination));
    return new DownloadError(
      "cancelled",
      kept > 0
        ? `The download was cancelled. The ${formatBytes(kept)} downloaded so far are kept; downloading again continues from there.`
        : "The download was cancelled.",
      false,
    );
  }
}

/** Ends the wait for an answer, or for the next bytes, when it takes too long. */
class Watchdog {
  readonly controller = new AbortController();
  reason: "no-answer" | "stalled" | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.controller.abort();

  constructor(private readonly outer: AbortSignal | undefined) {
    outer?.addEventListener("abort", this.onAbort);
  }

  arm(ms: number, reason: "no-answer" | "stalled"): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.reason = reason;
      this.controller.abort();
    }, ms);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.onAbort);
  }
}

function statusError(status: number, url: string, response: IncomingMessage): DownloadError {
  if (status === 429 || status === 408 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], Date.now());
    return new DownloadError(
      "http-status",
      status === 429
        ? "The server is busy (too many requests)."
        : status === 408
          ? "The server timed out waiting for the request."
          : `The server had a problem (HTTP ${status}).`,
      true,
      retryAfterMs === null ? {} : { retryAfterMs },
    );
  }
  return new DownloadError(
    "http-status",
    status === 404
      ? `The server has no file at ${url} (HTTP 404). The catalog entry or the mirror may be out of date.`
      : `The server refused the download of ${url} (HTTP ${status}).`,
    false,
  );
}

/**
 * One try: continues the partial file when the server's answer proves it can, otherwise starts
 * over; returns when the `.part` file is complete.
 */
async function attempt(job: Job, attemptNumber: number): Promise<void> {
  const { options, destination } = job;
  const note = await readNote(destination);
  // A partial file continues when it is part of the same file: the same expected sha256, or (when
  // none is known) the same address; and when it is not longer than the file.
  const sameFile =
    note !== undefined &&
    (job.expectedSha256 !== null && note.sha256 !== null
      ? note.sha256 === job.expectedSha256
      : note.url === options.url);
  let partial = sameFile ? { bytes: await sizeOf(partPath(destination)), note } : null;
  if (partial && options.expectedBytes !== undefined && partial.bytes > options.expectedBytes) partial = null;
  if (!partial?.bytes) {
    partial = null;
    await discardPartial(destination);
  }
  let response: IncomingMessage | undefined;
  /** Forgets the partial file (and the answer that showed it is wrong): the next request asks for the whole file. */
  const startOver = async () => {
    response?.destroy();
    partial = null;
    await discardPartial(destination);
  };

  const watchdog = new Watchdog(options.signal);
  try {
    for (;;) {
      const have = partial?.bytes ?? 0;
      job.report({
        phase: "connecting",
        receivedBytes: have,
        totalBytes: options.expectedBytes ?? partial?.note.totalBytes ?? null,
        attempt: attemptNumber,
        resumed: partial !== null,
      });
      const headers: Record<string, string> = { "user-agent": "Duet", ...options.headers };
      if (partial) {
        headers.range = `bytes=${partial.bytes}-`;
        if (partial.note.validator) headers["if-range"] = partial.note.validator;
      }
      watchdog.arm(options.connectTimeoutMs ?? 15_000, "no-answer");
      const answer = await getFollowingRedirects(options.url, headers, watchdog.controller.signal);
      response = answer.response;
      const { linkedSha256, linkedSize } = answer;
      const status = response.statusCode ?? 0;

      if (status === 416 && partial) {
        const total = unsatisfiedRangeTotal(response.headers["content-range"]);
        const known = options.expectedBytes ?? partial.note.totalBytes;
        if (total === have && (known === null || known === have)) return; // already complete
        await startOver();
        continue;
      }
      if (status !== 200 && status !== 206) throw statusError(status, options.url, response);

      // Where the body starts in the file, and the file's size.
      let start = 0;
      let totalBytes = sizeHeader(response.headers["content-length"]);
      if (status === 206) {
        const range = parseContentRange(response.headers["content-range"]);
        if (!range || range.end !== range.total - 1 || (range.start !== have && range.start !== 0)) {
          if (!partial)
            throw new DownloadError(
              "network",
              "The server sent a part of the file that was not asked for.",
              true,
            );
          // Not the continuation asked for: start over from the first byte.
          await startOver();
          continue;
        }
        start = range.start;
        totalBytes = range.total;
      }
      const expectedTotal = options.expectedBytes ?? linkedSize;
      if (totalBytes !== null && expectedTotal !== null && totalBytes !== expectedTotal) {
        throw new DownloadError(
          "size-mismatch",
          `The server offers a file of ${formatBytes(totalBytes)}, not the ${formatBytes(expectedTotal)} expected: ` +
            "it is another file (the mirror may be out of date, or a proxy or captive portal answered).",
          false,
        );
      }
      if (options.sha256 && linkedSha256 && linkedSha256 !== options.sha256) {
        throw new DownloadError(
          "server-mismatch",
          `The server offers another file than the catalog names (its sha256 is ${linkedSha256}, expected ${options.sha256}). ` +
            "The mirror may be out of date.",
          false,
        );
      }
      job.serverSha256 ??= linkedSha256;
      // A partial file of another version of the file (its size or sha256 changed) starts over.
      if (
        start > 0 &&
        partial &&
        ((partial.note.totalBytes !== null && totalBytes !== partial.note.totalBytes) ||
          (partial.note.sha256 !== null && linkedSha256 !== null && linkedSha256 !== partial.note.sha256))
      ) {
        await startOver();
        continue;
      }
      totalBytes ??= expectedTotal;

      if (totalBytes !== null) {
        const folder = dirname(destination);
        const free = await (options.freeBytes ?? defaultFreeBytes)(folder);
        const needed = totalBytes - start;
        if (free < needed + DISK_MARGIN_BYTES)
          throw new DownloadError(
            "disk-full",
            `Not enough disk space: ${formatBytes(needed)} are needed in ${folder} but only ${formatBytes(free)} are free.`,
            false,
          );
      }

      const etag = response.headers.etag;
      const validator =
        typeof etag === "string" && !etag.startsWith("W/")
          ? etag
          : (response.headers["last-modified"] ?? null);
      await writeFile(
        infoPath(destination),
        JSON.stringify({
          url: options.url,
          sha256: job.expectedSha256,
          totalBytes,
          validator,
        } satisfies PartialNote),
      );
      await receive(job, response, { start, totalBytes, attemptNumber, watchdog });
      return;
    }
  } catch (error) {
    if (options.signal?.aborted) throw await job.cancelled();
    if (watchdog.reason === "stalled")
      throw new DownloadError(
        "stalled",
        `${job.host} stopped sending data for ${((options.stallTimeoutMs ?? 30_000) / 1000).toFixed(0)} s.`,
        true,
        { cause: error },
      );
    if (watchdog.reason === "no-answer")
      throw new DownloadError(
        "offline",
        `${job.host} did not answer within ${((options.connectTimeoutMs ?? 15_000) / 1000).toFixed(0)} s.`,
        true,
        { cause: error },
      );
    if (error instanceof DownloadError) throw error;
    if (error instanceof TooManyRedirectsError)
      throw new DownloadError("http-status", `${job.host} redirected the download too many times.`, false);
    const problem = describeNetworkError(error, job.host);
    throw new DownloadError(problem.kind, problem.message, problem.retryable, { cause: error });
  } finally {
    // Whatever was not read of the last answer is not wanted (destroying a finished answer does nothing).
    response?.destroy();
    watchdog.dispose();
  }
}

/** Writes the body to the `.part` file from `start`. */
async function receive(
  job: Job,
  response: IncomingMessage,
  at: { start: number; totalBytes: number | null; attemptNumber: number; watchdog: Watchdog },
): Promise<void> {
  const { options, destination } = job;
  const { start, totalBytes, watchdog } = at;
  const resumed = start > 0;
  let file: PartFile;
  try {
    file = await (options.openPartFile ?? openWithFs)(partPath(destination), resumed ? "a" : "w");
  } catch (error) {
    throw await fileSystemError(job, error, totalBytes);
  }
  let received = start;
  const progress = () => ({
    phase: "downloading" as const,
    receivedBytes: received,
    totalBytes,
    attempt: at.attemptNumber,
    resumed,
  });
  const speed = new SpeedMeter(() => job.clock.now(), received);
  job.report(progress());
  try {
    watchdog.arm(options.stallTimeoutMs ?? 30_000, "stalled");
    for await (const chunk of response) {
      watchdog.arm(options.stallTimeoutMs ?? 30_000, "stalled");
      const bytes = chunk as Buffer;
      if (totalBytes !== null && received + bytes.length > totalBytes)
        throw new DownloadError("network", "The server sent more data than the file has.", true);
      try {
        await file.write(bytes);
      } catch (error) {
        throw await fileSystemError(job, error, totalBytes, file);
      }
      received += bytes.length;
      job.report(progress(), speed.add(received));
    }
  } finally {
    await file.close().catch(() => undefined);
  }
  if (totalBytes !== null && received !== totalBytes)
    throw new DownloadError(
      "network",
      `The connection to ${job.host} closed after ${formatBytes(received)} of ${formatBytes(totalBytes)}.`,
      true,
    );
}

/** A failed write in words; a full disk deletes the partial file (it is useless without the space to finish it). */
async function fileSystemError(
  job: Job,
  error: unknown,
  totalBytes: number | null,
  file?: PartFile,
): Promise<DownloadError> {
  const code = (error as NodeJS.ErrnoException).code;
  const folder = dirname(job.destination);
  if (code === "ENOSPC" || code === "EDQUOT") {
    await file?.close().catch(() => undefined);
    await discardPartial(job.destination);
    const free = await (job.options.freeBytes ?? defaultFreeBytes)(folder).catch(() => null);
    const needed = totalBytes === null ? null : totalBytes + DISK_MARGIN_BYTES;
    return new DownloadError(
      "disk-full",
      `The disk became full during the download, so the partial download was deleted.` +
        (needed === null
          ? ` Free some space in ${folder} and try again.`
          : ` The download needs ${formatBytes(needed)} free in ${folder}` +
            (free === null ? "" : `, and ${formatBytes(free)} are free`) +
            `: free ${formatBytes(Math.max(needed - (free ?? 0), 0))} more and try again.`),
      false,
      { cause: error },
    );
  }
  const failedPath = (error as NodeJS.ErrnoException).path;
  return new DownloadError(
    "filesystem",
    `The download cannot be saved. ${explainFileError(error, typeof failedPath === "string" ? failedPath : partPath(job.destination), "write")}`,
    false,
    { cause: error },
  );
}

/** Checks the complete `.part` file and gives it its final name. */
async function install(job: Job): Promise<DownloadResult> {
  const { options, destination } = job;
  const part = partPath(destination);
  const note = await readNote(destination);
  // The catalog's, or the one the server announced (in this process, or in the one that began the file).
  const expected = job.expectedSha256 ?? note?.sha256 ?? null;
  const bytes = await sizeOf(part);
  const progress = (receivedBytes: number) =>
    job.report({ phase: "verifying", receivedBytes, totalBytes: bytes, attempt: 1, resumed: false });
  progress(0);
  const actual = await sha256File(part, progress);
  if (expected === null) {
    const kept = unverifiedPath(destination);
    await rename(part, kept);
    await rm(infoPath(destination), { force: true });
    throw new DownloadError(
      "unverified",
      `The download finished, but neither the catalog nor the server gave a checksum, so it cannot be checked. ` +
        `It was kept as ${kept} and is not installed. If you trust where it came from, add it with ` +
        `"npm run models -- import ${kept}" after renaming it.`,
      false,
      { keptPath: kept },
    );
  }
  if (actual !== expected) {
    await discardPartial(destination);
    throw new DownloadError(
      "checksum",
      `The downloaded file is not the expected one (its sha256 is ${actual}, expected ${expected}): ` +
        "a proxy or captive portal may have answered, or the transfer was damaged. It was deleted; try again.",
      false,
    );
  }
  const checkedAgainst = options.sha256 ? "catalog" : "server";
  if (options.accept) {
    try {
      await options.accept(part, { sha256: actual, checkedAgainst });
    } catch (error) {
      await discardPartial(destination);
      throw error;
    }
  }
  await rename(part, destination);
  await rm(infoPath(destination), { force: true });
  return { path: destination, bytes, sha256: actual, checkedAgainst };
}

/** How long to wait before trying again after `failure` (the `failures`-th in a row). */
function retryDelay(options: DownloadOptions, failure: DownloadError, failures: number): number {
  if (failure.retryAfterMs !== undefined) return failure.retryAfterMs;
  if (failure.reason === "offline") return options.offlineRetryMs ?? 10_000;
  return Math.min((options.backoffMs ?? 1000) * 2 ** (failures - 1), options.maxBackoffMs ?? 60_000);
}

const inSeconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * Downloads `url` to `destination`. A `.part` file (with its `.part.json` note) survives
 * cancellation and crashes; the next call continues it when the server proves it can.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const job = new Job(options);
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
  let failures = 0;
  let furthest = await sizeOf(partPath(destination));
  for (let attemptNumber = 1; ; attemptNumber++) {
    if (options.signal?.aborted) throw await job.cancelled();
    try {
      await attempt(job, attemptNumber);
      break;
    } catch (error) {
      const failure = error as DownloadError;
      if (!failure.retryable) throw failure;
      // Failures count in a row: a try that added to the file starts the count again.
      const have = await sizeOf(partPath(destination));
      if (have > furthest) failures = 0;
      furthest = Math.max(furthest, have);
      failures++;
      const kept =
        have > 0
          ? ` The ${formatBytes(have)} downloaded so far are kept; downloading again continues from there.`
          : "";
      if (failures > retries)
        throw new DownloadError(failure.reason, `${failure.message} Try again later.${kept}`, false, {
          cause: failure,
        });
      const delay = retryDelay(options, failure, failures);
      if (delay > (options.maxRetryAfterMs ?? 5 * 60_000))
        throw new DownloadError(
          failure.reason,
          `${failure.message} It asks to wait ${Math.ceil(delay / 60_000)} min; try again later.${kept}`,
          false,
          { cause: failure },
        );
      job.report({
        phase: "waiting",
        receivedBytes: have,
        totalBytes: options.expectedBytes ?? null,
        attempt: attemptNumber,
        resumed: have > 0,
        message: `${failure.message} Retrying in ${inSeconds(delay)} s; Cancel keeps what was downloaded.`,
        retryInSeconds: inSeconds(delay),
      });
      // A cancel ends the wait early; the loop then says what was kept.
      await job.clock.sleep(delay, options.signal).catch(() => undefined);
    }
  }
  return install(job);
}

/** Runs downloads with at most `limit` at a time. */
export class DownloadQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit = 2) {}

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted)
      throw new DownloadError("cancelled", "The download was cancelled before it started.", false);
    if (this.running >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", cancel);
          resolve();
        };
        const cancel = () => {
          this.waiting.splice(this.waiting.indexOf(go), 1);
          reject(new DownloadError("cancelled", "The download was cancelled before it started.", false));
        };
        signal?.addEventListener("abort", cancel);
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
