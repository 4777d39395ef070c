import { mkdtempSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DownloadError,
  DownloadQueue,
  downloadFile,
  type DownloadProgress,
} from "../../../src/engine/models/download.js";
import { bytes, sha1, sha256, startFileServer, type TestServer } from "../../helpers/fileServer.js";

const BIG = bytes(3_000_000, 7);
const SMALL = bytes(200_000, 9);
let server: TestServer;
const folder = () => mkdtempSync(join(tmpdir(), "duet-dl-"));
const fast = { backoffMs: 20, stallTimeoutMs: 400, freeBytes: async () => 1e12 };

beforeAll(async () => {
  server = await startFileServer({
    "/big.bin": { body: BIG },
    "/small.bin": { body: SMALL },
    "/drop.bin": { body: BIG, behave: (n) => (n === 1 ? "drop-half" : "normal") },
    "/stall.bin": { body: SMALL, behave: (n) => (n === 1 ? "stall" : "normal") },
    "/always-stall.bin": { body: SMALL, behave: () => "stall" },
    "/flaky.bin": { body: SMALL, behave: (n) => (n === 1 ? "500" : "normal") },
    "/slow.bin": { body: BIG, behave: () => "slow" },
    "/slow2.bin": { body: SMALL, behave: () => "slow" },
  });
});
afterAll(async () => server.close());

const requestsFor = (path: string) => server.requests.filter((r) => r.path === path);

describe("downloads against a local server", () => {
  it("reports progress with size, speed and ETA, verifies the digest and moves the file into place", async () => {
    const destination = join(folder(), "model.bin");
    const progress: DownloadProgress[] = [];
    const result = await downloadFile({
      ...fast,
      url: `${server.url}/big.bin`,
      destination,
      digest: { algorithm: "sha256", value: sha256(BIG) },
      onProgress: (p) => progress.push(p),
    });
    expect(result).toMatchObject({ path: destination, bytes: BIG.length, sha256: sha256(BIG) });
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    await expect(stat(`${destination}.part`)).rejects.toThrow();
    expect(progress.at(-1)).toMatchObject({
      receivedBytes: BIG.length,
      totalBytes: BIG.length,
      resumed: false,
      attempt: 1,
    });
    expect(progress.every((p) => p.totalBytes === BIG.length)).toBe(true);
    expect(progress.at(-1)!.bytesPerSecond).toBeGreaterThan(0);
  });

  it("resumes with an HTTP range after the server drops the connection mid-file", async () => {
    const destination = join(folder(), "drop.bin");
    const progress: DownloadProgress[] = [];
    await downloadFile({
      ...fast,
      url: `${server.url}/drop.bin`,
      destination,
      digest: { algorithm: "sha1", value: sha1(BIG) },
      onProgress: (p) => progress.push(p),
    });
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    const requests = requestsFor("/drop.bin");
    expect(requests).toHaveLength(2);
    expect(requests[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(requests[1]!.range!.slice(6, -1))).toBeGreaterThan(0);
    expect(progress.some((p) => p.resumed && p.attempt === 2)).toBe(true);
  });

  it("cancels on abort, keeps the partial file, and a later call continues it", async () => {
    const destination = join(folder(), "slow.bin");
    const controller = new AbortController();
    const first = downloadFile({
      ...fast,
      url: `${server.url}/slow.bin`,
      destination,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.receivedBytes > 100_000) controller.abort();
      },
    });
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ reason: "cancelled", code: "aborted" });
    const partial = (await stat(`${destination}.part`)).size;
    expect(partial).toBeGreaterThan(100_000);
    // A new process would find the same .part and .part.json: simulate it with a fresh call.
    await downloadFile({
      ...fast,
      url: `${server.url}/big.bin`.replace("big", "slow"),
      destination,
      digest: { algorithm: "sha256", value: sha256(BIG) },
    });
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    expect(requestsFor("/slow.bin").at(-1)!.range).toBe(`bytes=${partial}-`);
  }, 60_000);

  it("continues a partial file left by an interrupted process", async () => {
    const dir = folder();
    const destination = join(dir, "restart.bin");
    const url = `${server.url}/big.bin`;
    await writeFile(`${destination}.part`, BIG.subarray(0, 1_234_567));
    await writeFile(`${destination}.part.json`, JSON.stringify({ url, etag: null, totalBytes: BIG.length }));
    const progress: DownloadProgress[] = [];
    await downloadFile({
      ...fast,
      url,
      destination,
      digest: { algorithm: "sha256", value: sha256(BIG) },
      onProgress: (p) => progress.push(p),
    });
    expect((await readFile(destination)).equals(BIG)).toBe(true);
    expect(requestsFor("/big.bin").at(-1)!.range).toBe("bytes=1234567-");
    expect(progress[0]).toMatchObject({ resumed: true, receivedBytes: 1_234_567 });
  });

  it("deletes a file whose checksum is wrong and says so", async () => {
    const destination = join(folder(), "wrong.bin");
    const error = await downloadFile({
      ...fast,
      url: `${server.url}/small.bin`,
      destination,
      digest: { algorithm: "sha256", value: "0".repeat(64) },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      reason: "checksum",
      message: expect.stringMatching(/damaged or not the expected one/),
    });
    await expect(stat(`${destination}.part`)).rejects.toThrow();
    await expect(stat(destination)).rejects.toThrow();
  });

  it("fails at once on a 404, without retrying", async () => {
    const destination = join(folder(), "missing.bin");
    const error = await downloadFile({ ...fast, url: `${server.url}/nothing-here.bin`, destination }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      reason: "http-status",
      retryable: false,
      message: expect.stringMatching(/HTTP 404/),
    });
    expect(requestsFor("/nothing-here.bin")).toHaveLength(1);
  });

  it("detects a stalled server, retries, and resumes", async () => {
    const destination = join(folder(), "stall.bin");
    const progress: DownloadProgress[] = [];
    await downloadFile({
      ...fast,
      url: `${server.url}/stall.bin`,
      destination,
      onProgress: (p) => progress.push(p),
    });
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(requestsFor("/stall.bin")[1]!.range).toBe("bytes=1000-");
    const always = await downloadFile({
      ...fast,
      retries: 1,
      url: `${server.url}/always-stall.bin`,
      destination: join(folder(), "x.bin"),
    }).catch((e: unknown) => e);
    expect(always).toMatchObject({
      reason: "stalled",
      message: expect.stringMatching(/stopped sending data/),
    });
  });

  it("retries a server error with backoff", async () => {
    const destination = join(folder(), "flaky.bin");
    await downloadFile({ ...fast, url: `${server.url}/flaky.bin`, destination });
    expect((await readFile(destination)).equals(SMALL)).toBe(true);
    expect(requestsFor("/flaky.bin")).toHaveLength(2);
  });

  it("refuses to start when the disk is too full", async () => {
    const destination = join(folder(), "full.bin");
    const error = await downloadFile({
      ...fast,
      freeBytes: async () => 1_000_000,
      url: `${server.url}/big.bin`,
      destination,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      reason: "disk-full",
      message: expect.stringMatching(/Not enough disk space: 3\.0 MB are needed .* only 1\.0 MB are free/),
    });
    await expect(stat(`${destination}.part`)).rejects.toThrow();
  });

  it("refuses a file whose size differs from the expected one", async () => {
    const error = await downloadFile({
      ...fast,
      url: `${server.url}/small.bin`,
      destination: join(folder(), "size.bin"),
      expectedBytes: 123,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "size-mismatch" });
  });

  it("runs at most the allowed number of downloads at once", async () => {
    const queue = new DownloadQueue(1);
    let running = 0;
    let peak = 0;
    const dir = folder();
    const task = (name: string) =>
      queue.run(async () => {
        running++;
        peak = Math.max(peak, running);
        try {
          return await downloadFile({
            ...fast,
            url: `${server.url}/slow2.bin`,
            destination: join(dir, name),
          });
        } finally {
          running--;
        }
      });
    const [a, b] = await Promise.all([task("a.bin"), task("b.bin")]);
    expect(peak).toBe(1);
    expect(a.sha256).toBe(sha256(SMALL));
    expect(b.sha256).toBe(sha256(SMALL));
    const parallel = new DownloadQueue(2);
    const both = await Promise.all(
      ["c.bin", "d.bin"].map((n) =>
        parallel.run(() =>
          downloadFile({ ...fast, url: `${server.url}/small.bin`, destination: join(dir, n) }),
        ),
      ),
    );
    expect(both.map((r) => r.bytes)).toEqual([SMALL.length, SMALL.length]);
  });
});
