import { mkdtempSync } from "node:fs";
import { open, readFile, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DISK_MARGIN_BYTES,
  DownloadError,
  defaultFreeBytes,
  DownloadQueue,
  downloadFile,
  type Clock,
  type DownloadOptions,
  type DownloadProgress,
  type OpenPartFile,
  sleep,
  systemClock,
} from "../../../src/engine/models/download.js";
import { formatBytes } from "../../../src/shared/format.js";
import {
  bytes,
  closedPortUrl,
  sha256,
  startFileServer,
  type Behaviour,
  type TestServer,
} from "../../helpers/fileServer.js";

const BIG = bytes(3_000_000, 7);
const SMALL = bytes(200_000, 9);
const OTHER = bytes(200_000, 10);
let server: TestServer;
const folder = () => mkdtempSync(join(tmpdir(), "duet-dl-"));

/** A clock whose waits pass at once and are recorded: backoff is checked by the time asked for. */
function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new DownloadError("cancelled", "cancelled", false);
      waits.push(ms);
      now += ms;
    },
  };
  return { clock, waits };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The download's error (the test fails if it succeeds). */
async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  return promise.then(
    () => {
      throw new Error("the download succeeded");
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(DownloadError);
      return error as DownloadError;
    },
  );
}

/** Serves `body` at a fresh path with the given behaviour per request; returns the URL and its requests. */
const routes = new Map<
  string,
  { body: Buffer; behave?: (n: number) => Behaviour; headers?: Record<string, string>; etag?: string | null }
>();
let next = 0;
function serve(
  body: Buffer,
  behave?: (n: number) => Behaviour,
  extra: { headers?: Record<string, string>; etag?: string | null } = {},
) {
  const path = `/file-${++next}.bin`;
  routes.set(path, { body, ...(behave ? { behave } : {}), ...extra });
  return {
    url: `${server.url}${path}`,
    path,
    requests: () => server.requests.filter((r) => r.path === path),
  };
}

beforeAll(async () => {
  // Routes are looked up per request, so tests can add theirs after the server started.
  const table = new Proxy({} as Record<string, never>, {
    get: (_target, key) => routes.get(String(key)),
  });
  server = await startFileServer(table);
});
afterAll(async () => server.close());

function options(extra: Partial<DownloadOptions> & Pick<DownloadOptions, "url">) {
  const { clock, waits } = fakeClock();
  const progress: DownloadProgress[] = [];
  const destination = join(folder(), "model.bin");
  const all: DownloadOptions = {
    destination,
    backoffMs: 20,
    stallTimeoutMs: 400,
    connectTimeoutMs: 2000,
    freeBytes: async () => 1e12,
    clock,
    onProgress: (p) => progress.push(p),
    ...extra,
  };
  return { options: all, destination: all.destination, waits, progress };
}

describe("a download is installed only once it is proven", () => {
  it("says connecting at once, downloads with progress, checks the catalog's sha256, then gives the final name", async () => {
    const { url } = serve(BIG);
    const {
      options: o,
      destination,
      progress,
    } = options({ url, sha256: sha256(BIG), expectedBytes: BIG.length });
    const result = await downloadFile({ ...o, clock: undefined });
    expect(result).toEqual({
      path: destination,
      bytes: BIG.length,
      sha256: sha256(BIG),
      checkedAgainst: "catalog",
    });
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    expect(await exists(`${destination}.part`)).toBe(false);
    expect(await exists(`${destination}.part.json`)).toBe(false);
    expect(progress[0]).toMatchObject({
      phase: "connecting",
      receivedBytes: 0,
      totalBytes: BIG.length,
      attempt: 1,
    });
    const phases = [...new Set(progress.map((p) => p.phase))];
    expect(phases).toEqual(["connecting", "downloading", "verifying"]);
    const downloading = progress.filter((p) => p.phase === "downloading");
    expect(downloading.every((p) => p.totalBytes === BIG.length && !p.resumed)).toBe(true);
    expect(downloading.some((p) => p.bytesPerSecond > 0 && p.etaSeconds !== null)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: "verifying", totalBytes: BIG.length });
  });

  it("follows the Hugging Face redirect and checks the file against the sha256 and size the redirect announced", async () => {
    const cdn = serve(SMALL);
    const hub = serve(SMALL, () => ({
      status: 302,
      headers: {
        location: cdn.path,
        "x-linked-etag": `"${sha256(SMALL)}"`,
        "x-linked-size": String(SMALL.length),
      },
    }));
    const { options: o, destination } = options({ url: hub.url });
    const result = await downloadFile(o);
    expect(result).toMatchObject({ checkedAgainst: "server", sha256: sha256(SMALL) });
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(cdn.requests()).toHaveLength(1);
  });

  it("refuses before downloading when the server announces another file than the catalog names", async () => {
    const cdn = serve(OTHER);
    const hub = serve(OTHER, () => ({
      status: 302,
      headers: { location: cdn.path, "x-linked-etag": `"${sha256(OTHER)}"` },
    }));
    const { options: o, destination } = options({ url: hub.url, sha256: sha256(SMALL) });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "server-mismatch", retryable: false, code: "download-failed" });
    expect(error.message).toContain(sha256(OTHER));
    expect(await exists(`${destination}.part`)).toBe(false);
    expect(await exists(destination)).toBe(false);
  });

  it("refuses a server that offers a file of another size than the announced one", async () => {
    const cdn = serve(SMALL);
    const hub = serve(SMALL, () => ({
      status: 302,
      headers: { location: cdn.path, "x-linked-size": "123" },
    }));
    const { options: o } = options({ url: hub.url });
    expect(await failure(downloadFile(o))).toMatchObject({ reason: "size-mismatch" });
  });

  it("gives up on a redirect loop, naming the host", async () => {
    const loop = serve(SMALL);
    routes.get(loop.path)!.behave = () => ({ status: 302, headers: { location: loop.path } });
    const { options: o } = options({ url: loop.url });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "http-status", retryable: false });
    expect(error.message).toMatch(/127\.0\.0\.1:\d+ redirected the download too many times/);
    expect(loop.requests()).toHaveLength(6);
  });

  it("deletes a wrong body of the right size (a captive portal) and never gives it the final name", async () => {
    const { url } = serve(OTHER);
    const { options: o, destination } = options({ url, sha256: sha256(SMALL), expectedBytes: SMALL.length });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "checksum", retryable: false });
    expect(error.message).toMatch(/not the expected one/);
    for (const path of [destination, `${destination}.part`, `${destination}.part.json`])
      expect(await exists(path)).toBe(false);
  });

  it("refuses at once a body of another size than the catalog's, before writing anything", async () => {
    const portal = Buffer.from("<html>Please log in to the hotel Wi-Fi</html>");
    const { url } = serve(portal);
    const { options: o, destination } = options({ url, sha256: sha256(SMALL), expectedBytes: SMALL.length });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "size-mismatch", retryable: false });
    expect(error.message).toMatch(/45 B, not the 200 KB expected/);
    expect(await exists(`${destination}.part`)).toBe(false);
  });

  it("keeps a file no checksum was given for as .unverified and does not install it", async () => {
    const { url } = serve(SMALL);
    const { options: o, destination } = options({ url });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "unverified", keptPath: `${destination}.unverified` });
    expect(error.message).toMatch(/cannot be checked/);
    expect((await readFile(`${destination}.unverified`)).equals(SMALL)).toBe(true);
    expect(await exists(destination)).toBe(false);
    expect(await exists(`${destination}.part.json`)).toBe(false);
  });

  it("runs the caller's check on the verified file before installing it, and deletes it when the check fails", async () => {
    const { url } = serve(SMALL);
    const { options: o, destination } = options({
      url,
      sha256: sha256(SMALL),
      accept: async (path, verified) => {
        expect(path).toBe(`${destination}.part`);
        expect(verified).toEqual({ sha256: sha256(SMALL), checkedAgainst: "catalog" });
        throw new Error("not a model Duet can run");
      },
    });
    await expect(downloadFile(o)).rejects.toThrow("not a model Duet can run");
    expect(await exists(destination)).toBe(false);
    expect(await exists(`${destination}.part`)).toBe(false);
  });

  it("downloads a body without Content-Length against the expected size", async () => {
    const ok = serve(SMALL, () => "chunked");
    const good = options({ url: ok.url, sha256: sha256(SMALL), expectedBytes: SMALL.length });
    await downloadFile(good.options);
    expect(good.progress.find((p) => p.phase === "downloading")).toMatchObject({ totalBytes: SMALL.length });
    const tooLong = serve(BIG, () => "chunked");
    const bad = options({ url: tooLong.url, sha256: sha256(SMALL), expectedBytes: SMALL.length, retries: 0 });
    const error = await failure(downloadFile(bad.options));
    expect(error.message).toMatch(/more data than the file has/);
  });
});

describe("resuming trusts only a Content-Range that continues the partial file", () => {
  /** A partial file of `have` bytes of `body`, as an interrupted download of `url` left it. */
  async function partial(body: Buffer, have: number, note: Record<string, unknown>) {
    const destination = join(folder(), "model.bin");
    await writeFile(`${destination}.part`, body.subarray(0, have));
    await writeFile(`${destination}.part.json`, JSON.stringify(note));
    return destination;
  }

  it("continues after a dropped connection with Range and If-Range", async () => {
    const route = serve(BIG, (n) => (n === 1 ? "drop-half" : "normal"));
    const { options: o, destination, progress } = options({ url: route.url, sha256: sha256(BIG) });
    await downloadFile(o);
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    const [first, second] = route.requests();
    expect(first!.range).toBeUndefined();
    expect(second!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(second!.ifRange).toBe(`"${sha256(BIG).slice(0, 16)}"`);
    expect(progress.some((p) => p.phase === "downloading" && p.resumed && p.attempt === 2)).toBe(true);
  });

  it("sends Last-Modified as If-Range when the server's ETag is weak or missing", async () => {
    const date = "Wed, 21 Oct 2015 07:28:00 GMT";
    for (const etag of [null, 'W/"weak"']) {
      const route = serve(BIG, (n) => (n === 1 ? "drop-half" : "normal"), {
        etag,
        headers: { "last-modified": date },
      });
      await downloadFile(options({ url: route.url, sha256: sha256(BIG) }).options);
      expect(route.requests()[1]!.ifRange).toBe(date);
    }
    const bare = serve(BIG, (n) => (n === 1 ? "drop-half" : "normal"), { etag: null });
    await downloadFile(options({ url: bare.url, sha256: sha256(BIG) }).options);
    expect(bare.requests()[1]).not.toHaveProperty("ifRange");
    expect(bare.requests()[1]!.range).toMatch(/^bytes=\d+-$/);
  });

  it("continues a partial file left by another process, and one from another address of the same file", async () => {
    const route = serve(BIG);
    const destination = await partial(BIG, 1_234_567, {
      url: "https://old-mirror.example/model.bin",
      sha256: sha256(BIG),
      totalBytes: BIG.length,
      validator: null,
    });
    const { options: o, progress } = options({ url: route.url, destination, sha256: sha256(BIG) });
    await downloadFile(o);
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    expect(route.requests()).toEqual([{ path: route.path, range: "bytes=1234567-", userAgent: "Duet" }]);
    expect(progress[0]).toMatchObject({ phase: "connecting", resumed: true, receivedBytes: 1_234_567 });
  });

  it("starts over when the partial file is of another file or another address with nothing to prove it", async () => {
    const route = serve(SMALL);
    const otherFile = await partial(OTHER, 5000, {
      url: route.url,
      sha256: sha256(OTHER),
      totalBytes: OTHER.length,
    });
    await downloadFile(options({ url: route.url, destination: otherFile, sha256: sha256(SMALL) }).options);
    const otherAddress = await partial(SMALL, 5000, {
      url: "https://elsewhere.example/x",
      totalBytes: SMALL.length,
    });
    await expect(
      downloadFile(options({ url: route.url, destination: otherAddress }).options),
    ).rejects.toMatchObject({ reason: "unverified" });
    const tooBig = await partial(BIG, 300_000, { url: route.url, totalBytes: SMALL.length });
    await downloadFile(
      options({ url: route.url, destination: tooBig, sha256: sha256(SMALL), expectedBytes: SMALL.length })
        .options,
    );
    expect(route.requests().map((r) => r.range)).toEqual([undefined, undefined, undefined]);
    expect((await readFile(otherFile)).equals(SMALL)).toBe(true);
  });

  it("restarts cleanly when the server ignores Range and sends the whole file", async () => {
    const route = serve(SMALL, () => "ignore-range");
    const destination = await partial(SMALL, 50_000, { url: route.url, totalBytes: SMALL.length });
    const { options: o, progress } = options({ url: route.url, destination, sha256: sha256(SMALL) });
    await downloadFile(o);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests()).toEqual([{ path: route.path, range: "bytes=50000-", userAgent: "Duet" }]);
    expect(progress.find((p) => p.phase === "downloading")).toMatchObject({
      resumed: false,
      receivedBytes: 0,
    });
  });

  it("uses a 206 that starts from byte 0 as a fresh start, not as the continuation", async () => {
    const route = serve(SMALL, () => "from-zero");
    const destination = await partial(SMALL, 50_000, { url: route.url, totalBytes: SMALL.length });
    await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests()).toHaveLength(1);
  });

  it("discards the partial file and asks again from zero when the 206 starts elsewhere", async () => {
    const route = serve(SMALL, (n) => (n === 1 ? "wrong-start" : "normal"));
    const destination = await partial(SMALL, 50_000, { url: route.url, totalBytes: SMALL.length });
    await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests().map((r) => r.range)).toEqual(["bytes=50000-", undefined]);
  });

  it("refuses a 206 nobody asked for", async () => {
    const route = serve(SMALL, () => ({
      status: 206,
      headers: { "content-range": "bytes 10-20/100" },
      body: "x",
    }));
    const { options: o } = options({ url: route.url, sha256: sha256(SMALL), retries: 0 });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "network" });
    expect(error.message).toMatch(/part of the file that was not asked for/);
  });

  it("starts over when the server's file changed size since the partial file was written", async () => {
    const route = serve(SMALL);
    const destination = await partial(SMALL, 50_000, { url: route.url, totalBytes: 999_999 });
    await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests().map((r) => r.range)).toEqual(["bytes=50000-", undefined]);
  });

  it("starts over when the server announces another sha256 than the partial file's", async () => {
    const cdn = serve(SMALL);
    const hub = serve(SMALL, () => ({
      status: 302,
      headers: { location: cdn.path, "x-linked-etag": `"${sha256(SMALL)}"` },
    }));
    const destination = await partial(SMALL, 50_000, {
      url: hub.url,
      sha256: sha256(OTHER),
      totalBytes: SMALL.length,
    });
    const result = await downloadFile(options({ url: hub.url, destination }).options);
    expect(result.checkedAgainst).toBe("server");
    // The first answer shows the partial file is of another version: the second asks from zero.
    expect(cdn.requests().map((r) => r.range)).toEqual(["bytes=50000-", undefined]);
  });

  it("takes a 416 with the partial file's size as 'already complete' and verifies it", async () => {
    const route = serve(SMALL);
    const destination = await partial(SMALL, SMALL.length, {
      url: route.url,
      sha256: sha256(SMALL),
      totalBytes: SMALL.length,
    });
    const result = await downloadFile(
      options({ url: route.url, destination, sha256: sha256(SMALL) }).options,
    );
    expect(result.sha256).toBe(sha256(SMALL));
    expect(route.requests()).toEqual([
      { path: route.path, range: `bytes=${SMALL.length}-`, userAgent: "Duet" },
    ]);
    // Complete in an earlier process: the sha256 the server announced then is in the note.
    const again = await partial(SMALL, SMALL.length, {
      url: route.url,
      sha256: sha256(SMALL),
      totalBytes: SMALL.length,
    });
    expect(await downloadFile(options({ url: route.url, destination: again }).options)).toMatchObject({
      checkedAgainst: "server",
    });
  });

  it("starts over after a 416 that does not match the partial file", async () => {
    const route = serve(SMALL, (n) =>
      n === 1 ? { status: 416, headers: { "content-range": "bytes */999" } } : "normal",
    );
    const destination = await partial(SMALL, 60_000, { url: route.url, totalBytes: SMALL.length });
    await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests().map((r) => r.range)).toEqual(["bytes=60000-", undefined]);
  });
});

describe("failures: retried with backoff on the clock, told in words", () => {
  it("doubles the wait after each server error, up to the limit, then gives up in words", async () => {
    const route = serve(SMALL, () => "500");
    const {
      options: o,
      waits,
      progress,
    } = options({ url: route.url, retries: 4, backoffMs: 1000, maxBackoffMs: 5000 });
    const error = await failure(downloadFile(o));
    expect(waits).toEqual([1000, 2000, 4000, 5000]);
    expect(route.requests()).toHaveLength(5);
    expect(error).toMatchObject({ reason: "http-status", retryable: false });
    expect(error.message).toBe("The server had a problem (HTTP 500). Try again later.");
    const waiting = progress.filter((p) => p.phase === "waiting");
    expect(waiting.map((p) => p.retryInSeconds)).toEqual([1, 2, 4, 5]);
    expect(waiting[0]!.message).toBe(
      "The server had a problem (HTTP 500). Retrying in 1 s; Cancel keeps what was downloaded.",
    );
  });

  it("retries 429 and 408, waiting as long as Retry-After says", async () => {
    const route = serve(SMALL, (n) =>
      n === 1
        ? { status: 429, headers: { "retry-after": "7" } }
        : n === 2
          ? { status: 408 }
          : n === 3
            ? { status: 503, headers: { "retry-after": new Date(Date.now() + 120_000).toUTCString() } }
            : "normal",
    );
    const { options: o, waits, progress } = options({ url: route.url, sha256: sha256(SMALL), backoffMs: 50 });
    await downloadFile(o);
    expect(waits[0]).toBe(7000);
    expect(waits[1]).toBe(100); // the second failure in a row, no Retry-After: backoff 50 × 2
    expect(waits[2]).toBeGreaterThan(115_000);
    expect(waits[2]).toBeLessThanOrEqual(120_000);
    expect(progress.find((p) => p.phase === "waiting")!.message).toMatch(
      /^The server is busy \(too many requests\)\. Retrying in 7 s/,
    );
  });

  it("gives up at once when the server asks to wait longer than makes sense", async () => {
    const route = serve(SMALL, () => ({ status: 429, headers: { "retry-after": "3600" } }));
    const { options: o, waits } = options({ url: route.url });
    const error = await failure(downloadFile(o));
    expect(waits).toEqual([]);
    expect(error.message).toMatch(/asks to wait 60 min; try again later/);
  });

  it("counts failures in a row: a try that added to the file starts the count again", async () => {
    const route = serve(BIG, (n) => (n <= 3 ? "drop-half" : "normal"));
    const { options: o, waits } = options({ url: route.url, sha256: sha256(BIG), retries: 1, backoffMs: 10 });
    await downloadFile(o);
    expect(waits).toEqual([10, 10, 10]);
    const stuck = serve(SMALL, () => "500");
    const second = options({ url: stuck.url, retries: 1, backoffMs: 10 });
    await failure(downloadFile(second.options));
    expect(second.waits).toEqual([10]);
  });

  it("fails at once on a 404 or 403, without retrying", async () => {
    const missing = options({ url: `${server.url}/nothing-here.bin` });
    const error = await failure(downloadFile(missing.options));
    expect(error).toMatchObject({ reason: "http-status", retryable: false });
    expect(error.message).toMatch(/HTTP 404/);
    expect(missing.waits).toEqual([]);
    const forbidden = serve(SMALL, () => ({ status: 403 }));
    expect((await failure(downloadFile(options({ url: forbidden.url }).options))).message).toMatch(
      /refused the download.*HTTP 403/,
    );
    expect(forbidden.requests()).toHaveLength(1);
  });

  it("says at once that it cannot connect, waits 10 s between tries, and never shows system error codes", async () => {
    const url = `${await closedPortUrl()}/model.bin`;
    const { options: o, waits, progress } = options({ url, retries: 2 });
    const error = await failure(downloadFile(o));
    expect(progress[0]).toMatchObject({ phase: "connecting", attempt: 1 });
    expect(waits).toEqual([10_000, 10_000]);
    const host = new URL(url).host;
    expect(progress.find((p) => p.phase === "waiting")!.message).toBe(
      `${host} refused the connection. Retrying in 10 s; Cancel keeps what was downloaded.`,
    );
    expect(error).toMatchObject({ reason: "offline" });
    expect(error.message).toBe(`${host} refused the connection. Try again later.`);
    expect(error.message).not.toMatch(/ECONNREFUSED|connect /);
  });

  it("says 'No internet connection' when the host cannot be looked up", async () => {
    const {
      options: o,
      waits,
      progress,
    } = options({ url: "http://duet-download-test.invalid/model.bin", retries: 1, offlineRetryMs: 3000 });
    const error = await failure(downloadFile(o));
    expect(waits).toEqual([3000]);
    expect(progress.find((p) => p.phase === "waiting")!.message).toBe(
      "No internet connection: duet-download-test.invalid could not be found. Retrying in 3 s; Cancel keeps what was downloaded.",
    );
    expect(error.message).not.toMatch(/getaddrinfo|ENOTFOUND|EAI_AGAIN/);
  });

  it("tells how much was kept when it gives up after bytes arrived", async () => {
    const route = serve(BIG, () => "drop-half");
    const { options: o, destination } = options({ url: route.url, retries: 0 });
    const error = await failure(downloadFile(o));
    const kept = (await stat(`${destination}.part`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(error.message).toMatch(
      new RegExp(
        `Try again later\\. The ${formatBytes(kept)} downloaded so far are kept; downloading again continues from there\\.$`,
      ),
    );
  });

  it("gives up on a server that accepts the connection but never answers", async () => {
    const route = serve(SMALL, () => "hang");
    const { options: o } = options({ url: route.url, retries: 0, connectTimeoutMs: 300 });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "offline" });
    expect(error.message).toMatch(/did not answer within 0 s/);
  });

  it("detects a stalled server, retries, and resumes", async () => {
    const route = serve(SMALL, (n) => (n === 1 ? "stall" : "normal"));
    const { options: o, destination } = options({ url: route.url, sha256: sha256(SMALL) });
    await downloadFile(o);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests()[1]!.range).toBe("bytes=1000-");
    const always = serve(SMALL, () => "stall");
    const error = await failure(downloadFile(options({ url: always.url, retries: 0 }).options));
    expect(error).toMatchObject({ reason: "stalled" });
    expect(error.message).toMatch(/stopped sending data for 0 s/);
  });
});

describe("disk space", () => {
  it("refuses to start without room for the file and the margin, and starts with exactly that", async () => {
    const route = serve(SMALL);
    const short = options({
      url: route.url,
      sha256: sha256(SMALL),
      freeBytes: async () => SMALL.length + DISK_MARGIN_BYTES - 1,
    });
    const error = await failure(downloadFile(short.options));
    expect(error).toMatchObject({ reason: "disk-full", retryable: false });
    expect(error.message).toMatch(
      /Not enough disk space: 200 KB are needed in .* but only 67\.3 MB are free/,
    );
    expect(await exists(`${short.destination}.part`)).toBe(false);
    const exact = options({
      url: route.url,
      sha256: sha256(SMALL),
      freeBytes: async () => SMALL.length + DISK_MARGIN_BYTES,
    });
    await downloadFile(exact.options);
    expect(await exists(exact.destination)).toBe(true);
  });

  it("counts only the rest of a resumed file", async () => {
    const route = serve(SMALL);
    const destination = join(folder(), "model.bin");
    await writeFile(`${destination}.part`, SMALL.subarray(0, 150_000));
    await writeFile(`${destination}.part.json`, JSON.stringify({ url: route.url, totalBytes: SMALL.length }));
    await downloadFile(
      options({
        url: route.url,
        destination,
        sha256: sha256(SMALL),
        freeBytes: async () => 50_000 + DISK_MARGIN_BYTES,
      }).options,
    );
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
  });

  it("removes the partial file when the disk fills during the download and says how much space is needed", async () => {
    const route = serve(BIG);
    let written = 0;
    const fillsUp: OpenPartFile = async () => ({
      write: async (data) => {
        written += data.length;
        if (written > 1_000_000)
          throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      },
      close: async () => undefined,
    });
    let asked = 0;
    const { options: o, destination } = options({
      url: route.url,
      sha256: sha256(BIG),
      openPartFile: fillsUp,
      freeBytes: async () => (++asked === 1 ? 1e12 : 2_000_000),
    });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "disk-full", retryable: false });
    expect(error.message).toMatch(
      /The disk became full .* partial download was deleted\. The download needs 70\.1 MB free in .*, and 2\.0 MB are free: free 68\.1 MB more/,
    );
    expect(await exists(`${destination}.part`)).toBe(false);
    expect(await exists(`${destination}.part.json`)).toBe(false);
  });

  it("says when the file cannot be written at all", async () => {
    const route = serve(SMALL);
    const denied: OpenPartFile = async () => {
      throw Object.assign(new Error("permission denied"), { code: "EACCES" });
    };
    const error = await failure(downloadFile(options({ url: route.url, openPartFile: denied }).options));
    expect(error).toMatchObject({ reason: "filesystem", retryable: false });
    expect(error.message).toMatch(
      /^The download cannot be saved\. Duet may not write .*\.part \(permission denied; .*\)\. Fix: /,
    );
  });
});

describe("cancelling", () => {
  it("is not a failure: keeps the partial file, says so, and a later call continues it", async () => {
    const route = serve(BIG, () => "slow");
    const controller = new AbortController();
    const { options: o, destination } = options({
      url: route.url,
      signal: controller.signal,
      clock: systemClock,
      onProgress: (p) => {
        seen.push(p);
        if (p.receivedBytes > 100_000) controller.abort();
      },
    });
    const seen: DownloadProgress[] = [];
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "cancelled", code: "aborted", retryable: false });
    // A cancel is final at once: no retry is announced.
    expect(seen.some((p) => p.phase === "waiting")).toBe(false);
    const partial = (await stat(`${destination}.part`)).size;
    expect(partial).toBeGreaterThan(100_000);
    expect(error.message).toMatch(/^The download was cancelled\. The .* downloaded so far are kept/);
    routes.get(route.path)!.behave = () => "normal";
    await downloadFile(options({ url: route.url, destination, sha256: sha256(BIG) }).options);
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    expect(route.requests().at(-1)!.range).toBe(`bytes=${partial}-`);
  }, 30_000);

  it("stops a wait between retries, and never starts when already cancelled", async () => {
    const route = serve(SMALL, () => "500");
    const controller = new AbortController();
    const { options: o } = options({
      url: route.url,
      signal: controller.signal,
      backoffMs: 60_000,
      clock: systemClock,
      onProgress: (p) => {
        // Cancel once the 60 s wait has begun.
        if (p.phase === "waiting") setImmediate(() => controller.abort());
      },
    });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "cancelled", message: "The download was cancelled." });
    const before = route.requests().length;
    const again = await failure(downloadFile({ ...o, signal: controller.signal }));
    expect(again.reason).toBe("cancelled");
    expect(route.requests()).toHaveLength(before);
  });
});

describe("the download queue", () => {
  it("runs at most the allowed number at once, in order", async () => {
    const queue = new DownloadQueue(1);
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const task = (name: string) =>
      queue.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(name);
        running--;
        return name;
      });
    expect(await Promise.all([task("a"), task("b"), task("c")])).toEqual(["a", "b", "c"]);
    expect(peak).toBe(1);
    expect(order).toEqual(["a", "b", "c"]);
    const two = new DownloadQueue(2);
    let together = 0;
    let most = 0;
    const parallel = () =>
      two.run(async () => {
        most = Math.max(most, ++together);
        await new Promise((resolve) => setImmediate(resolve));
        together--;
      });
    await Promise.all([parallel(), parallel(), parallel()]);
    expect(most).toBe(2);
  });

  it("cancels a queued download before it starts, and the queue goes on", async () => {
    const queue = new DownloadQueue(1);
    let release!: () => void;
    const first = queue.run(() => new Promise<string>((resolve) => (release = () => resolve("first"))));
    const controller = new AbortController();
    let started = false;
    const queued = queue.run(async () => {
      started = true;
    }, controller.signal);
    controller.abort();
    await expect(queued).rejects.toMatchObject({
      reason: "cancelled",
      retryable: false,
      message: "The download was cancelled before it started.",
    });
    const third = queue.run(async () => "third");
    release();
    expect(await first).toBe("first");
    expect(await third).toBe("third");
    expect(started).toBe(false);
    await expect(queue.run(async () => "late", controller.signal)).rejects.toMatchObject({
      reason: "cancelled",
      retryable: false,
    });
  });
});

describe("time", () => {
  afterEach(() => vi.useRealTimers());

  it("sleeps for the time asked, and a cancel ends the wait at once", async () => {
    vi.useFakeTimers();
    let done = false;
    const wait = sleep(1000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await wait;
    expect(done).toBe(true);
    const controller = new AbortController();
    const cancelled = sleep(60_000, controller.signal);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ reason: "cancelled" });
    expect(vi.getTimerCount()).toBe(0);
    await expect(sleep(10, controller.signal)).rejects.toMatchObject({ reason: "cancelled" });
    // A finished wait leaves no listener behind on the signal.
    const signal = new AbortController().signal;
    const listeners = vi.spyOn(signal, "removeEventListener");
    const short = sleep(5, signal);
    await vi.advanceTimersByTimeAsync(5);
    await short;
    expect(listeners).toHaveBeenCalledWith("abort", expect.any(Function));
  });
});

describe("the details that keep a download honest", () => {
  /** A partial file of `have` bytes of `body`, as an interrupted download left it. */
  async function partial(body: Buffer, have: number, note: Record<string, unknown>) {
    const destination = join(folder(), "model.bin");
    await writeFile(`${destination}.part`, body.subarray(0, have));
    await writeFile(`${destination}.part.json`, JSON.stringify(note));
    return destination;
  }

  it("continues a partial file exactly as long as the file (a 416), and refuses one longer than the catalog's", async () => {
    const route = serve(SMALL);
    const complete = await partial(SMALL, SMALL.length, { url: route.url, totalBytes: SMALL.length });
    await downloadFile(
      options({ url: route.url, destination: complete, sha256: sha256(SMALL), expectedBytes: SMALL.length })
        .options,
    );
    // Nothing known about the size: the server's 416 alone says the file is complete.
    const unknown = await partial(SMALL, SMALL.length, { url: route.url });
    await downloadFile(options({ url: route.url, destination: unknown, sha256: sha256(SMALL) }).options);
    expect(route.requests().map((r) => r.range)).toEqual([
      `bytes=${SMALL.length}-`,
      `bytes=${SMALL.length}-`,
    ]);
  });

  it("continues a resumed download when the catalog gives the size", async () => {
    const route = serve(BIG, (n) => (n === 1 ? "drop-half" : "normal"));
    const { options: o, progress } = options({
      url: route.url,
      sha256: sha256(BIG),
      expectedBytes: BIG.length,
    });
    await downloadFile(o);
    expect(route.requests()[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    const connecting = progress.filter((p) => p.phase === "connecting");
    expect(connecting.map((p) => p.resumed)).toEqual([false, true]);
    expect(connecting[1]!.receivedBytes).toBeGreaterThan(0);
  });

  it("starts over after a 416 whose size is the partial file's but not the file's", async () => {
    const route = serve(SMALL, (n) =>
      n === 1 ? { status: 416, headers: { "content-range": "bytes */50000" } } : "normal",
    );
    const destination = await partial(SMALL, 50_000, { url: route.url, totalBytes: SMALL.length });
    await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(route.requests().map((r) => r.range)).toEqual(["bytes=50000-", undefined]);
  });

  it("refuses a 416 to a request that asked for no range", async () => {
    const route = serve(SMALL, () => ({ status: 416, headers: { "content-range": "bytes */0" } }));
    const error = await failure(downloadFile(options({ url: route.url }).options));
    expect(error).toMatchObject({ reason: "http-status", retryable: false });
    expect(route.requests()).toHaveLength(1);
  });

  it("starts over when a 206 does not reach the end of the file or has no readable range", async () => {
    for (const contentRange of ["bytes 50000-99999/200000", "bytes 50000-199999/*"]) {
      const route = serve(SMALL, (n) =>
        n === 1 ? { status: 206, headers: { "content-range": contentRange }, body: "x" } : "normal",
      );
      const destination = await partial(SMALL, 50_000, { url: route.url, totalBytes: SMALL.length });
      await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
      expect((await readFile(destination)).equals(SMALL)).toBe(true);
      expect(route.requests().map((r) => r.range)).toEqual(["bytes=50000-", undefined]);
    }
  });

  it("retries a 206 nobody asked for", async () => {
    const route = serve(SMALL, (n) =>
      n === 1 ? { status: 206, headers: { "content-range": "bytes 10-20/100" }, body: "x" } : "normal",
    );
    const { options: o } = options({ url: route.url, sha256: sha256(SMALL), retries: 1 });
    await downloadFile(o);
    expect(route.requests()).toHaveLength(2);
  });

  it("continues a partial file when the server announces the same sha256 as before", async () => {
    const cdn = serve(SMALL);
    const hub = serve(SMALL, () => ({
      status: 302,
      headers: { location: cdn.path, "x-linked-etag": `"${sha256(SMALL)}"` },
    }));
    const destination = await partial(SMALL, 50_000, {
      url: hub.url,
      sha256: sha256(SMALL),
      totalBytes: SMALL.length,
    });
    await downloadFile(options({ url: hub.url, destination, sha256: sha256(SMALL) }).options);
    expect(cdn.requests().map((r) => r.range)).toEqual(["bytes=50000-"]);
  });

  it("ignores a note it cannot read, but keeps one whose size field is odd", async () => {
    const route = serve(SMALL);
    for (const note of ["not json", JSON.stringify({ totalBytes: SMALL.length }), "null"]) {
      const destination = join(folder(), "model.bin");
      await writeFile(`${destination}.part`, SMALL.subarray(0, 50_000));
      await writeFile(`${destination}.part.json`, note);
      await downloadFile(options({ url: route.url, destination, sha256: sha256(SMALL) }).options);
    }
    const odd = await partial(SMALL, 50_000, { url: route.url, totalBytes: "lots" });
    await downloadFile(options({ url: route.url, destination: odd, sha256: sha256(SMALL) }).options);
    expect(route.requests().map((r) => r.range)).toEqual([undefined, undefined, undefined, "bytes=50000-"]);
  });

  it("deletes a partial file of another file even when the download then fails", async () => {
    const route = serve(SMALL, () => "404");
    const destination = await partial(OTHER, 5000, {
      url: "https://elsewhere.example/x",
      totalBytes: OTHER.length,
    });
    await failure(downloadFile(options({ url: route.url, destination }).options));
    expect(await exists(`${destination}.part`)).toBe(false);
    expect(await exists(`${destination}.part.json`)).toBe(false);
  });

  it("installs a file checked against the sha256 the catalog and the server agree on", async () => {
    const cdn = serve(SMALL);
    const hub = serve(SMALL, () => ({
      status: 302,
      headers: {
        location: cdn.path,
        "x-linked-etag": `"${sha256(SMALL)}"`,
        "x-linked-size": String(SMALL.length),
      },
    }));
    const result = await downloadFile(
      options({ url: hub.url, sha256: sha256(SMALL), expectedBytes: SMALL.length }).options,
    );
    expect(result.checkedAgainst).toBe("catalog");
  });

  it("downloads a file of unknown size (no Content-Length, nothing announced) without asking for disk space", async () => {
    const route = serve(SMALL, () => "chunked");
    const { options: o, progress } = options({ url: route.url, freeBytes: async () => 1000 });
    const error = await failure(downloadFile(o));
    expect(error.reason).toBe("unverified");
    expect(progress.find((p) => p.phase === "downloading")).toMatchObject({ totalBytes: null });
  });

  it("stops writing at the expected size when the server sends more, and retries", async () => {
    const route = serve(BIG, () => "chunked");
    const { options: o, destination } = options({
      url: route.url,
      sha256: sha256(SMALL),
      expectedBytes: SMALL.length,
      retries: 1,
    });
    // The first try stops at the expected size (and is retried); the second shows the file's real size.
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "size-mismatch" });
    expect(route.requests()).toHaveLength(2);
    expect((await stat(`${destination}.part`)).size).toBeLessThanOrEqual(SMALL.length);
  });

  it("says how far it got when a body without Content-Length ends early", async () => {
    const route = serve(SMALL.subarray(0, 100_000), () => "chunked");
    const { options: o } = options({
      url: route.url,
      sha256: sha256(SMALL),
      expectedBytes: SMALL.length,
      retries: 0,
    });
    const error = await failure(downloadFile(o));
    expect(error).toMatchObject({ reason: "network" });
    expect(error.message).toMatch(/closed after 100 KB of 200 KB\. Try again later\./);
  });

  it("does not retry a size or sha256 the catalog does not expect, nor a full disk", async () => {
    const wrongSize = serve(Buffer.from("tiny"));
    await failure(downloadFile(options({ url: wrongSize.url, expectedBytes: SMALL.length }).options));
    expect(wrongSize.requests()).toHaveLength(1);
    const cdn = serve(OTHER);
    const hub = serve(OTHER, () => ({
      status: 302,
      headers: { location: cdn.path, "x-linked-etag": `"${sha256(OTHER)}"` },
    }));
    await failure(downloadFile(options({ url: hub.url, sha256: sha256(SMALL) }).options));
    expect(hub.requests()).toHaveLength(1);
    const full = serve(SMALL);
    await failure(downloadFile(options({ url: full.url, freeBytes: async () => 0 }).options));
    expect(full.requests()).toHaveLength(1);
  });

  it("detects a server that sends the headers and then nothing", async () => {
    const route = serve(SMALL, () => "headers-only");
    const error = await failure(downloadFile(options({ url: route.url, retries: 0 }).options));
    expect(error).toMatchObject({ reason: "stalled" });
  });

  it("closes the part file it opened, whether the download succeeds or fails", async () => {
    let opened = 0;
    let closed = 0;
    const counting: OpenPartFile = async (path, flags) => {
      opened++;
      const handle = await open(path, flags);
      return {
        write: (data) => handle.write(data),
        close: async () => {
          closed++;
          await handle.close();
        },
      };
    };
    const good = serve(SMALL);
    await downloadFile(options({ url: good.url, sha256: sha256(SMALL), openPartFile: counting }).options);
    const dropping = serve(BIG, () => "drop-half");
    await failure(downloadFile(options({ url: dropping.url, retries: 1, openPartFile: counting }).options));
    expect(opened).toBeGreaterThanOrEqual(3);
    expect(closed).toBe(opened);
  });

  it("says what a full disk needs however it shows, and keeps the original error", async () => {
    for (const code of ["ENOSPC", "EDQUOT"]) {
      const route = serve(SMALL, () => "chunked");
      const full: OpenPartFile = async () => {
        throw Object.assign(new Error("no space"), { code });
      };
      const error = await failure(
        downloadFile(
          options({
            url: route.url,
            openPartFile: full,
            freeBytes: async () => {
              throw new Error("statfs failed");
            },
          }).options,
        ),
      );
      expect(error).toMatchObject({ reason: "disk-full", retryable: false, cause: { code } });
      expect(error.message).toMatch(/partial download was deleted\. Free some space in .* and try again\.$/);
    }
    const known = serve(SMALL);
    const full: OpenPartFile = async () => {
      throw Object.assign(new Error("no space"), { code: "ENOSPC" });
    };
    let asked = 0;
    const error = await failure(
      downloadFile(
        options({
          url: known.url,
          sha256: sha256(SMALL),
          openPartFile: full,
          freeBytes: async () => {
            if (++asked > 1) throw new Error("statfs failed");
            return 1e12;
          },
        }).options,
      ),
    );
    expect(error.message).toMatch(/needs 67\.3 MB free in [^,]*: free 67\.3 MB more and try again\.$/);
  });

  it("does not retry a file it cannot write, and keeps the original error", async () => {
    const route = serve(SMALL);
    const denied: OpenPartFile = async () => {
      throw Object.assign(new Error("permission denied"), { code: "EACCES" });
    };
    const error = await failure(downloadFile(options({ url: route.url, openPartFile: denied }).options));
    expect(error).toMatchObject({ reason: "filesystem", cause: { code: "EACCES" } });
    expect(route.requests()).toHaveLength(1);
  });

  it("says when the models folder cannot be made", async () => {
    const dir = folder();
    await writeFile(join(dir, "models"), "a file where the folder should be");
    const error = await failure(
      downloadFile(options({ url: `${server.url}/x`, destination: join(dir, "models", "m.bin") }).options),
    );
    expect(error).toMatchObject({ reason: "filesystem", retryable: false, cause: { code: "EEXIST" } });
    expect(error.message).toMatch(/^Cannot create .*models/);
  });

  it("gives up after the allowed failures in a row even when an earlier try made progress", async () => {
    const route = serve(BIG, (n) => (n === 1 ? "drop-half" : "500"));
    const { options: o, waits } = options({ url: route.url, retries: 2, backoffMs: 10 });
    await failure(downloadFile(o));
    expect(waits).toEqual([10, 20]);
  });

  it("waits as long as the server asks up to the limit, and reports the waits in full", async () => {
    const route = serve(SMALL, (n) =>
      n === 1 ? { status: 503, headers: { "retry-after": "300" } } : "normal",
    );
    const {
      options: o,
      waits,
      progress,
    } = options({ url: route.url, sha256: sha256(SMALL), expectedBytes: SMALL.length });
    await downloadFile(o);
    expect(waits).toEqual([300_000]);
    expect(progress.find((p) => p.phase === "waiting")).toMatchObject({
      totalBytes: SMALL.length,
      resumed: false,
      retryInSeconds: 300,
      attempt: 1,
    });
    const partialRoute = serve(BIG, (n) => (n === 1 ? "drop-half" : "normal"));
    const resumed = options({ url: partialRoute.url, sha256: sha256(BIG) });
    await downloadFile(resumed.options);
    expect(resumed.progress.find((p) => p.phase === "waiting")).toMatchObject({
      resumed: true,
      totalBytes: null,
    });
  });

  it("names the kind of server failure in the wait message", async () => {
    const route = serve(SMALL, (n) => (n === 1 ? { status: 408 } : n === 2 ? "500" : "normal"));
    const { options: o, progress } = options({ url: route.url, sha256: sha256(SMALL) });
    await downloadFile(o);
    expect(progress.filter((p) => p.phase === "waiting").map((p) => p.message)).toEqual([
      "The server timed out waiting for the request. Retrying in 1 s; Cancel keeps what was downloaded.",
      "The server had a problem (HTTP 500). Retrying in 1 s; Cancel keeps what was downloaded.",
    ]);
    const missing = await failure(downloadFile(options({ url: `${server.url}/missing.bin` }).options));
    expect(missing.message).toMatch(/^The server has no file at .*missing\.bin \(HTTP 404\)/);
  });

  it("reports verifying from the first byte hashed", async () => {
    const route = serve(SMALL);
    const { options: o, progress } = options({ url: route.url, sha256: sha256(SMALL) });
    await downloadFile(o);
    expect(progress.find((p) => p.phase === "verifying")).toEqual({
      phase: "verifying",
      receivedBytes: 0,
      totalBytes: SMALL.length,
      bytesPerSecond: 0,
      etaSeconds: null,
      attempt: 1,
      resumed: false,
    });
  });

  it("keeps the causes: the network error behind a failure, the last failure behind giving up", async () => {
    const url = `${await closedPortUrl()}/model.bin`;
    const error = await failure(downloadFile(options({ url, retries: 0 }).options));
    expect(error.name).toBe("DownloadError");
    expect(error.cause).toMatchObject({ reason: "offline", cause: { code: "ECONNREFUSED" } });
    const stalled = serve(SMALL, () => "stall");
    const stall = await failure(downloadFile(options({ url: stalled.url, retries: 0 }).options));
    expect((stall.cause as DownloadError).cause).toBeDefined();
    const hanging = serve(SMALL, () => "hang");
    const hang = await failure(
      downloadFile(options({ url: hanging.url, retries: 0, connectTimeoutMs: 200 }).options),
    );
    expect((hang.cause as DownloadError).cause).toBeDefined();
    const busy = serve(SMALL, () => ({ status: 429, headers: { "retry-after": "3600" } }));
    expect((await failure(downloadFile(options({ url: busy.url }).options))).cause).toMatchObject({
      reason: "http-status",
    });
  });

  it("leaves no timers and no listeners behind", async () => {
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, "addEventListener");
    const removed = vi.spyOn(controller.signal, "removeEventListener");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const route = serve(BIG, (n) => (n === 1 ? "drop-half" : "normal"));
      await downloadFile(options({ url: route.url, sha256: sha256(BIG), signal: controller.signal }).options);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    expect(added.mock.calls.length).toBeGreaterThan(0);
    expect(removed.mock.calls.length).toBe(added.mock.calls.length);
  });

  it("measures free space on the disk itself by default", async () => {
    const free = await defaultFreeBytes(tmpdir());
    const s = await statfs(tmpdir());
    expect(free).toBe(s.bavail * s.bsize);
  });
});
