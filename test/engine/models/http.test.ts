import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MAX_REDIRECTS,
  TooManyRedirectsError,
  describeNetworkError,
  getFollowingRedirects,
  parseContentRange,
  parseRetryAfter,
  sha256FromEtag,
  sizeHeader,
  unsatisfiedRangeTotal,
} from "../../../src/engine/models/http.js";
import { startFileServer, type TestServer } from "../../helpers/fileServer.js";

const HEX = "9465e63a22add5354d9bb4b99e90117043c7124007664907259bd16d043bb031";

describe("the headers a download trusts", () => {
  it("reads a sha256 out of an ETag-like header, and nothing else", () => {
    expect(sha256FromEtag(`"${HEX}"`)).toBe(HEX);
    expect(sha256FromEtag(`W/"${HEX}"`)).toBe(HEX);
    expect(sha256FromEtag(HEX.toUpperCase())).toBe(HEX);
    expect(sha256FromEtag(`"${HEX.slice(1)}"`)).toBeNull();
    expect(sha256FromEtag(`"${HEX}0"`)).toBeNull();
    expect(sha256FromEtag('"d41d8cd98f00b204e9800998ecf8427e-3"')).toBeNull();
    expect(sha256FromEtag(undefined)).toBeNull();
    expect(sha256FromEtag([HEX])).toBeNull();
    // Only one pair of surrounding quotes, and W/ only in front.
    expect(sha256FromEtag(`"${HEX.slice(0, 32)}"${HEX.slice(32)}"`)).toBeNull();
    expect(sha256FromEtag(`"${HEX}"W/`)).toBeNull();
  });

  it("reads sizes that are plain non-negative integers", () => {
    expect(sizeHeader("639446688")).toBe(639446688);
    expect(sizeHeader(" 12 ")).toBe(12);
    expect(sizeHeader("0")).toBe(0);
    for (const bad of ["-1", "1e3", "12 bytes", "", undefined, ["12"]]) expect(sizeHeader(bad)).toBeNull();
  });

  it("reads Content-Range only when it is a consistent byte range of a known total", () => {
    expect(parseContentRange("bytes 100-199/200")).toEqual({ start: 100, end: 199, total: 200 });
    expect(parseContentRange(" bytes 0-0/1 ")).toEqual({ start: 0, end: 0, total: 1 });
    for (const bad of [
      "bytes 100-199/*",
      "bytes 200-100/300",
      "bytes 0-200/200",
      "items 0-1/2",
      "bytes 0-1/2 extra",
      "x bytes 0-1/2",
      undefined,
    ])
      expect(parseContentRange(bad)).toBeNull();
    expect(unsatisfiedRangeTotal("bytes */639446688")).toBe(639446688);
    expect(unsatisfiedRangeTotal(" bytes */5 ")).toBe(5);
    for (const bad of ["bytes 0-1/2", "bytes */", "x bytes */5", "bytes */5 x", undefined])
      expect(unsatisfiedRangeTotal(bad)).toBeNull();
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(parseRetryAfter("7", 0)).toBe(7000);
    expect(parseRetryAfter(" 0 ", 0)).toBe(0);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:02:00 GMT", now)).toBe(120_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter("12abc", now)).toBeNull();
    expect(parseRetryAfter("abc12", now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe("network failures in words", () => {
  const failure = (code: string, message = "x") => Object.assign(new Error(message), { code });

  it("says there is no internet connection when the host cannot be looked up or reached", () => {
    for (const code of ["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL"])
      expect(describeNetworkError(failure(code), "huggingface.co")).toEqual({
        kind: "offline",
        message: "No internet connection: huggingface.co could not be found.",
        retryable: true,
      });
    for (const code of ["ENETUNREACH", "ENETDOWN", "EHOSTUNREACH"])
      expect(describeNetworkError(failure(code), "huggingface.co")).toEqual({
        kind: "offline",
        message: "No internet connection: huggingface.co cannot be reached.",
        retryable: true,
      });
    expect(describeNetworkError(failure("ECONNREFUSED"), "mirror:8080")).toEqual({
      kind: "offline",
      message: "mirror:8080 refused the connection.",
      retryable: true,
    });
    expect(describeNetworkError(failure("ETIMEDOUT"), "h")).toMatchObject({
      kind: "offline",
      retryable: true,
    });
  });

  it("does not retry a connection whose certificate is not trusted, and says why", () => {
    for (const code of [
      "CERT_HAS_EXPIRED",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "ERR_TLS_CERT_ALTNAME_INVALID",
      "ERR_SSL_WRONG_VERSION_NUMBER",
    ]) {
      const problem = describeNetworkError(failure(code), "huggingface.co");
      expect(problem).toMatchObject({ kind: "network", retryable: false });
      expect(problem.message).toBe(
        "The secure connection to huggingface.co could not be verified (its certificate is not trusted). " +
          "A proxy, firewall or captive portal may be intercepting it.",
      );
    }
  });

  it("retries a broken transfer, and never shows a system code", () => {
    for (const error of [
      failure("ECONNRESET"),
      failure("EPIPE"),
      failure("ECONNABORTED"),
      failure("", "aborted"),
    ])
      expect(describeNetworkError(error, "cdn")).toEqual({
        kind: "network",
        message: "The connection to cdn was interrupted.",
        retryable: true,
      });
    expect(describeNetworkError(failure("EWEIRD", "getaddrinfo EWEIRD cdn"), "cdn")).toEqual({
      kind: "network",
      message: "The download from cdn failed because of a network error.",
      retryable: true,
    });
    expect(describeNetworkError(undefined, "cdn").retryable).toBe(true);
  });
});

describe("following redirects", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startFileServer({
      "/hub": {
        body: Buffer.from("x"),
        behave: () => ({
          status: 302,
          headers: { location: "/cdn/a", "x-linked-etag": `"${HEX}"`, "x-linked-size": "1" },
        }),
      },
      "/cdn/a": {
        body: Buffer.from("x"),
        behave: () => ({ status: 300, headers: { location: "../cdn/b" } }),
      },
      "/cdn/b": { body: Buffer.from("y") },
      "/not-modified": { body: Buffer.from(""), behave: () => ({ status: 304 }) },
      "/bad-request": {
        body: Buffer.from(""),
        behave: () => ({ status: 400, headers: { location: "/cdn/b" } }),
      },
      "/loop": { body: Buffer.from(""), behave: () => ({ status: 307, headers: { location: "/loop" } }) },
    });
  });
  afterAll(async () => server.close());

  it("follows 3xx answers with a Location (relative ones too) and keeps the X-Linked headers of the first hop", async () => {
    const signal = new AbortController().signal;
    const { response, url, linkedSha256, linkedSize } = await getFollowingRedirects(
      `${server.url}/hub`,
      {},
      signal,
    );
    expect(response.statusCode).toBe(200);
    expect(url).toBe(`${server.url}/cdn/b`);
    expect([linkedSha256, linkedSize]).toEqual([HEX, 1]);
    response.resume();
  });

  it("returns other answers as they are, and gives up on a loop", async () => {
    const signal = new AbortController().signal;
    for (const [path, status] of [
      ["/not-modified", 304],
      ["/bad-request", 400],
    ] as const) {
      const { response, linkedSha256, linkedSize } = await getFollowingRedirects(
        `${server.url}${path}`,
        {},
        signal,
      );
      expect(response.statusCode).toBe(status);
      expect([linkedSha256, linkedSize]).toEqual([null, null]);
      response.resume();
    }
    const loop = await getFollowingRedirects(`${server.url}/loop`, {}, signal).catch((e: unknown) => e);
    expect(loop).toBeInstanceOf(TooManyRedirectsError);
    expect(loop).toMatchObject({ name: "TooManyRedirectsError", url: `${server.url}/loop` });
    expect(server.requests.filter((r) => r.path === "/loop")).toHaveLength(MAX_REDIRECTS + 1);
  });
});
