import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCatalogEntry, type CatalogEntry } from "../../../src/engine/models/catalog.js";
import { bytes, closedPortUrl, sha256, startFileServer, type TestServer } from "../../helpers/fileServer.js";
import { tinyModelPath } from "../../helpers/models.js";

const qwen = findCatalogEntry("qwen3-0.6b")!;
/** The catalog's pinned address, served by the mirror under the same path. */
const QWEN_PATH = new URL(qwen.uri).pathname;
const WRONG_PATH = "/Qwen/Qwen3-0.6B-GGUF/resolve/0000000000000000000000000000000000000000/wrong.gguf";
let server: TestServer;
let model: Buffer;
let catalogFile: string;

beforeAll(async () => {
  model = await readFile(await tinyModelPath({ layers: 2, embedding: 512, feedForward: 1024, seed: 60 }));
  // A fresh download trickles slowly (so a test can stop the process mid-download), a resumed one is fast.
  server = await startFileServer({
    [QWEN_PATH]: { body: model, behave: (_, req) => (req.headers.range ? "normal" : "slow") },
    // A proxy that answers with another body of the expected size.
    [WRONG_PATH]: { body: bytes(model.length, 5) },
  });
  // The real catalog's entry, with the checksum of the generated model the mirror serves.
  const entries: CatalogEntry[] = [
    { ...qwen, sizeBytes: model.length, sha256: sha256(model) },
    {
      ...qwen,
      id: "wrong-body",
      fileName: "Wrong.gguf",
      uri: `https://huggingface.co${WRONG_PATH}`,
      sizeBytes: model.length,
      sha256: sha256(model),
    },
  ];
  catalogFile = join(mkdtempSync(join(tmpdir(), "duet-cli-catalog-")), "catalog.json");
  writeFileSync(catalogFile, JSON.stringify({ models: entries }));
});
afterAll(async () => server.close());

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run models` in a child; `act` sees the output as it comes and may signal the child. */
function models(
  args: string[],
  env: NodeJS.ProcessEnv,
  act?: (out: { stdout: string; stderr: string }, child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve) => {
    // node itself (not the tsx wrapper), so that signals reach the download.
    const child = spawn(process.execPath, ["--import", "tsx", "src/engine/cli/models.ts", ...args], {
      env: { ...process.env, DUET_CATALOG: catalogFile, ...env },
    });
    const out = { stdout: "", stderr: "" };
    child.stdout.on("data", (d: Buffer) => {
      out.stdout += d.toString();
      act?.(out, child);
    });
    child.stderr.on("data", (d: Buffer) => {
      out.stderr += d.toString();
      act?.(out, child);
    });
    child.on("close", (code, signal) => resolve({ code, signal, ...out }));
  });
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe("npm run models", () => {
  it("lists the catalog as one JSON array, downloads through a mirror with progress, and resumes after the process is killed", async () => {
    const data = mkdtempSync(join(tmpdir(), "duet-cli-data-"));
    const env = { DUET_DATA_DIR: data, DUET_MIRROR: server.url };

    const list = await models(["list", "--json"], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const entries = JSON.parse(lines[0]!) as Array<{ id: string; installed: boolean }>;
    expect(entries.find((e) => e.id === "qwen3-0.6b")).toMatchObject({ installed: false });

    // Kill the first download once some progress was reported.
    const killed = await models(["download", "qwen3-0.6b", "--json"], env, (out, child) => {
      if (/"receivedBytes":[1-9]\d{5,}/.test(out.stdout)) child.kill("SIGKILL");
    });
    expect(killed.signal).toBe("SIGKILL");
    expect(JSON.parse(killed.stdout.split("\n")[0]!)).toMatchObject({
      type: "progress",
      phase: "connecting",
    });
    const part = join(data, "models", "Qwen3-0.6B-Q8_0.gguf.part");
    const partial = (await stat(part)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(model.length);

    const done = await models(["download", "qwen3-0.6b", "--json"], env);
    expect(done.code).toBe(0);
    const events = done.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: "progress", phase: "connecting", resumed: true });
    expect(events.some((e) => e.phase === "verifying")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "done", model: { id: "qwen3-0.6b", installed: true } });
    expect(server.requests.at(-1)!.range).toBe(`bytes=${partial}-`);
    expect((await readFile(join(data, "models", "Qwen3-0.6B-Q8_0.gguf"))).equals(model)).toBe(true);

    const verify = await models(["verify"], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/ok {3}qwen3-0\.6b/);
    const removed = await models(["remove", "qwen3-0.6b"], env);
    expect(removed.code).toBe(0);
    const bad = await models(["download", "nope"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown model "nope"/);
  }, 90_000);

  it("never installs or lists a wrong body, and says so in one line", async () => {
    const data = mkdtempSync(join(tmpdir(), "duet-cli-data-"));
    const env = { DUET_DATA_DIR: data, DUET_MIRROR: server.url };
    const run = await models(["download", "wrong-body"], env);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      /^duet: The downloaded file is not the expected one \(its sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}\).*It was deleted; try again\.$/,
    );
    noStack(run.stderr);
    expect(readdirSync(join(data, "models"))).toEqual([]);
    const list = await models(["list", "--json"], env);
    const listed = JSON.parse(list.stdout) as Array<{ id: string; installed: boolean }>;
    expect(listed.filter((m) => m.installed)).toEqual([]);
  }, 60_000);

  it("says 'Connecting…' at once and, without a connection, that it will retry, in words", async () => {
    const data = mkdtempSync(join(tmpdir(), "duet-cli-data-"));
    const mirror = await closedPortUrl();
    const run = await models(
      ["download", "qwen3-0.6b"],
      { DUET_DATA_DIR: data, DUET_MIRROR: mirror },
      (out, child) => {
        if (/Retrying in/.test(out.stderr)) child.kill("SIGKILL");
      },
    );
    const lines = run.stderr.trim().split("\n");
    expect(lines[0]).toBe("Connecting…");
    expect(lines[1]).toBe(
      `${new URL(mirror).host} refused the connection. Retrying in 10 s; Cancel keeps what was downloaded.`,
    );
    noStack(run.stderr);
  }, 60_000);

  it("treats Ctrl+C as a cancel, not a failure: keeps the partial file and says so", async () => {
    const data = mkdtempSync(join(tmpdir(), "duet-cli-data-"));
    let sent = false;
    const run = await models(
      ["download", "qwen3-0.6b", "--json"],
      { DUET_DATA_DIR: data, DUET_MIRROR: server.url },
      (out, child) => {
        if (!sent && /"receivedBytes":[1-9]\d{5,}/.test(out.stdout)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    );
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(
      /^The download was cancelled\. The .* downloaded so far are kept; downloading again continues from there\.\n$/,
    );
    expect(run.stderr).not.toMatch(/duet:|failed/i);
    expect(JSON.parse(run.stdout.trim().split("\n").at(-1)!)).toMatchObject({ type: "cancelled" });
    expect((await stat(join(data, "models", "Qwen3-0.6B-Q8_0.gguf.part"))).size).toBeGreaterThan(0);
  }, 60_000);
});
