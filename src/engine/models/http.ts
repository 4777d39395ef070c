import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";

/**
 * The HTTP side of a download: one GET that follows redirects and keeps what the servers on the
 * way said about the file, the header parsers a resumed download needs, and network failures put
 * into words. docs/downloads.md describes how these are used.
 */

export interface FollowedResponse {
  response: IncomingMessage;
  /** The address that answered (after redirects). */
  url: string;
  /**
   * The file's sha256 and size as Hugging Face announces them (`X-Linked-Etag`, `X-Linked-Size`)
   * on the redirect to its CDN; null when no hop sent them.
   */
  linkedSha256: string | null;
  linkedSize: number | null;
}

/** Redirects followed before giving up (Hugging Face redirects once, to its CDN). */
export const MAX_REDIRECTS = 5;

export class TooManyRedirectsError extends Error {
  constructor(readonly url: string) {
    super(`Too many redirects for ${url}.`);
    this.name = "TooManyRedirectsError";
  }
}

function request(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    const req = get(url, { headers, signal }, resolve);
    req.on("error", reject);
  });
}

/** A sha256 in an ETag-like header (`"abc…"`, `W/"abc…"`), or null when it holds something else. */
export function sha256FromEtag(value: string | string[] | undefined): string | null {
  if (typeof value !== "string") return null;
  const bare = value.replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(bare) ? bare : null;
}

/** A non-negative integer header, or null. */
export function sizeHeader(value: string | string[] | undefined): number | null {
  if (typeof value !== "string" || !/^\d+$/.test(value.trim())) return null;
  return Number(value); // Number() ignores the surrounding spaces the test allowed
}

/** GET `url`, following redirects; collects the `X-Linked-*` headers of every hop. */
export async function getFollowingRedirects(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<FollowedResponse> {
  let current = url;
  let linkedSha256: string | null = null;
  let linkedSize: number | null = null;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await request(current, headers, signal);
    linkedSha256 ??= sha256FromEtag(response.headers["x-linked-etag"]);
    linkedSize ??= sizeHeader(response.headers["x-linked-size"]);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume();
      current = new URL(location, current).toString();
      continue;
    }
    return { response, url: current, linkedSha256, linkedSize };
  }
  throw new TooManyRedirectsError(url);
}

export interface ContentRange {
  start: number;
  end: number;
  total: number;
}

/** `bytes START-END/TOTAL`; null for anything else (including an unknown total `*`). */
export function parseContentRange(value: string | string[] | undefined): ContentRange | null {
  if (typeof value !== "string") return null;
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim());
  if (!match) return null;
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return start <= end && end < total ? { start, end, total } : null;
}

/** The total of a 416 answer's `bytes *\/TOTAL`, or null. */
export function unsatisfiedRangeTotal(value: string | string[] | undefined): number | null {
  if (typeof value !== "string") return null;
  const match = /^bytes \*\/(\d+)$/.exec(value.trim());
  return match ? Number(match[1]) : null;
}

/** `Retry-After` in milliseconds from `nowMs` (seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

export interface NetworkProblem {
  /** "offline": the machine cannot reach the server at all; "network": the transfer broke. */
  kind: "offline" | "network";
  message: string;
  retryable: boolean;
}

const NO_NETWORK = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "ENETUNREACH", "ENETDOWN", "EHOSTUNREACH"]);
const BROKEN = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE"]);

/** A failed request or transfer in words a user understands (no system call names, no codes). */
export function describeNetworkError(error: unknown, host: string): NetworkProblem {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL")
    return {
      kind: "offline",
      message: `No internet connection: ${host} could not be found.`,
      retryable: true,
    };
  if (NO_NETWORK.has(code))
    return {
      kind: "offline",
      message: `No internet connection: ${host} cannot be reached.`,
      retryable: true,
    };
  if (code === "ECONNREFUSED")
    return { kind: "offline", message: `${host} refused the connection.`, retryable: true };
  if (code === "ETIMEDOUT") return { kind: "offline", message: `${host} did not answer.`, retryable: true };
  if (/CERT|SSL|TLS|SELF_SIGNED/.test(code))
    return {
      kind: "network",
      message:
        `The secure connection to ${host} could not be verified (its certificate is not trusted). ` +
        "A proxy, firewall or captive portal may be intercepting it.",
      retryable: false,
    };
  if (BROKEN.has(code) || (error as Error | undefined)?.message === "aborted")
    return { kind: "network", message: `The connection to ${host} was interrupted.`, retryable: true };
  return {
    kind: "network",
    message: `The download from ${host} failed because of a network error.`,
    retryable: true,
  };
}
