import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFileServer, type TestServer } from "../../helpers/fileServer.js";
import { tinyModelPath } from "../../helpers/models.js";

const QWEN_PATH = "/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf";
let server: TestServer;
let model: Buffer;

beforeAll(async () => {
  model = await readFile(await tinyModelPath({ layers: 2, embedding: 512, feedForward: 1024, seed: 60 }));
  // The first request trickles slowly (so the test can kill the process mid-download), later ones are fast.
  server = await startFileServer({
    [QWEN_PATH]: { body: model, behave: (n) => (n === 1 ? "slow" : "normal") },
  });
});
afterAll(async () => server.close());

function models(args: string[], env: NodeJS.ProcessEnv, killWhen?: (stdout: string) => boolean) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    // node itself (not the tsx wrapper), so that killing it really kills the download.
    const child = spawn(process.execPath, ["--import", "tsx", "src/engine/cli/models.ts", ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (killWhen?.(stdout)) child.kill("SIGKILL");
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

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
    const killed = await models(["download", "qwen3-0.6b", "--json"], env, (out) =>
      /"receivedBytes":[1-9]\d{5,}/.test(out),
    );
    expect(killed.code).toBeNull();
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
    expect(events[0]).toMatchObject({ type: "progress", resumed: true });
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
});
