import { mkdtempSync, writeFileSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AppHost } from "../../src/main/host/appHost.js";
import { EngineHost, type WorkerHandle, type WorkerLauncher } from "../../src/main/host/engineHost.js";
import type { AppEvent, EngineStatus } from "../../src/main/ipc/contract.js";
import type { FromWorker, ToWorker, WorkerConfig } from "../../src/main/worker/protocol.js";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { bytes, closedPortUrl, sha256, startFileServer } from "../helpers/fileServer.js";
import { tinyModelPath } from "../helpers/models.js";

/** Fake engine processes: they record what they were told and can be made to crash. */
class FakeLauncher implements WorkerLauncher {
  workers: Array<{
    posted: ToWorker[];
    crash(code?: number): void;
    reply(message: FromWorker): void;
    killed: boolean;
  }> = [];
  launch(): WorkerHandle {
    const messageListeners: Array<(m: FromWorker) => void> = [];
    const exitListeners: Array<(c: number | null) => void> = [];
    const worker = {
      posted: [] as ToWorker[],
      killed: false,
      crash: (code = 134) => exitListeners.forEach((l) => l(code)),
      reply: (m: FromWorker) => messageListeners.forEach((l) => l(m)),
    };
    this.workers.push(worker);
    return {
      post: (m) => worker.posted.push(m),
      onMessage: (l) => messageListeners.push(l),
      onExit: (l) => exitListeners.push(l),
      kill: () => {
        worker.killed = true;
        exitListeners.forEach((l) => l(null));
      },
    };
  }
}

const config = { llmPath: "/m.gguf" } as WorkerConfig;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the engine host (utility process lifecycle)", () => {
  it("restarts a crashed engine with the same configuration and the conversation so far", async () => {
    const launcher = new FakeLauncher();
    const statuses: EngineStatus[] = [];
    const host = new EngineHost({
      launcher,
      onMessage: () => {},
      onStatus: (s) => statuses.push(s),
      restartDelaysMs: [10, 10],
    });
    host.start(config);
    expect(launcher.workers[0]!.posted[0]).toEqual({ type: "start", config, history: [] });
    launcher.workers[0]!.reply({ type: "history", history: [{ user: "hi", answer: "hello" }] });
    launcher.workers[0]!.crash();
    expect(statuses.at(-1)).toMatchObject({
      status: "crashed",
      restartInMs: 10,
      message: expect.stringMatching(/conversation is kept/),
    });
    await wait(30);
    expect(launcher.workers).toHaveLength(2);
    expect(launcher.workers[1]!.posted[0]).toEqual({
      type: "start",
      config,
      history: [{ user: "hi", answer: "hello" }],
    });
    // Crashing again and again: after the allowed restarts it gives up and says what to check.
    launcher.workers[1]!.crash();
    await wait(30);
    launcher.workers[2]!.crash();
    expect(statuses.at(-1)).toMatchObject({
      status: "failed",
      message: expect.stringMatching(/3 times in a row/),
    });
    expect(launcher.workers).toHaveLength(3);
  });

  it("does not treat a deliberate restart as a crash", () => {
    const launcher = new FakeLauncher();
    const statuses: EngineStatus[] = [];
    const host = new EngineHost({ launcher, onMessage: () => {}, onStatus: (s) => statuses.push(s) });
    host.start(config);
    host.start({ ...config, llmPath: "/other.gguf" });
    expect(launcher.workers[0]!.killed).toBe(true);
    expect(statuses).toEqual([]);
    expect(host.send({ type: "stop" })).toBe(true);
    host.stop();
    expect(host.send({ type: "stop" })).toBe(false);
  });
});

async function appHost() {
  const dir = mkdtempSync(join(tmpdir(), "duet-host-"));
  mkdirSync(join(dir, "models"));
  copyFileSync(await tinyModelPath({ program: DEMO_PROGRAM }), join(dir, "models", "demo.gguf"));
  const launcher = new FakeLauncher();
  const events: AppEvent[] = [];
  const host = new AppHost({
    dataDir: join(dir, "data"),
    modelsDir: join(dir, "models"),
    launcher,
    emit: (e) => events.push(e),
    emitAudio: () => {},
  });
  await host.init();
  return { dir, host, launcher, events };
}

describe("the app host (main process state)", () => {
  it("starts the engine with a model found in the models folder and the settings' options", async () => {
    const { launcher, dir } = await appHost();
    const start = launcher.workers[0]!.posted[0] as Extract<ToWorker, { type: "start" }>;
    expect(start.config).toMatchObject({
      llmPath: join(dir, "models", "demo.gguf"),
      gpu: "auto",
      layout: "paper",
      probeInterval: 20,
      sttPath: null,
      voicePath: null,
    });
  });

  it("validates every request payload and explains what is wrong", async () => {
    const { host } = await appHost();
    await expect(host.request("session:send-text", { text: 42 })).rejects.toThrow(
      /Invalid session:send-text request: text/,
    );
    await expect(host.request("session:push-to-talk", { down: "yes" })).rejects.toThrow(/down/);
    await expect(host.request("playback:report", { chunkId: -1, event: "ended" })).rejects.toThrow(/chunkId/);
    await expect(host.request("models:download", { id: "x", extra: true })).rejects.toThrow(
      /Invalid models:download/,
    );
    await expect(host.request("no:such" as "app:snapshot", {})).rejects.toThrow(/Unknown request/);
    await expect(
      host.request("settings:update", { patch: { hardware: { gpu: "quantum" } } }),
    ).rejects.toThrow(/Invalid setting hardware\.gpu/);
    await expect(host.request("session:send-text", { text: "hi" })).rejects.toThrow(/not ready/);
  });

  it("restarts the engine only for settings it depends on, keeping the conversation", async () => {
    const { host, launcher, events } = await appHost();
    launcher.workers[0]!.reply({
      type: "status",
      engine: { status: "ready", model: "demo", voice: "system", speechToText: null, notices: [] },
    });
    await host.request("session:send-text", { text: "hello" });
    expect(launcher.workers[0]!.posted.at(-1)).toEqual({ type: "text", text: "hello" });
    await host.request("settings:update", { patch: { hotkey: { pushToTalk: "F9" } } });
    expect(launcher.workers).toHaveLength(1);
    expect(events.some((e) => e.type === "settings" && e.settings.hotkey.pushToTalk === "F9")).toBe(true);
    launcher.workers[0]!.reply({ type: "history", history: [{ user: "hello", answer: "hi" }] });
    await host.request("settings:update", { patch: { reasoning: { layout: "compact" } } });
    expect(launcher.workers).toHaveLength(2);
    expect(launcher.workers[1]!.posted[0]).toMatchObject({
      type: "start",
      config: { layout: "compact" },
      history: [{ user: "hello", answer: "hi" }],
    });
  });

  it("says so when no model is installed, and refuses importing a file that is not a model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-host-empty-"));
    const events: AppEvent[] = [];
    const host = new AppHost({
      dataDir: join(dir, "data"),
      modelsDir: join(dir, "models"),
      launcher: new FakeLauncher(),
      emit: (e) => events.push(e),
      emitAudio: () => {},
    });
    await host.init();
    expect(host.snapshot().engine).toMatchObject({
      status: "no-model",
      message: expect.stringMatching(/download one/),
    });
    writeFileSync(join(dir, "not-a-model.txt"), "x");
    await expect(host.request("models:import", { path: join(dir, "not-a-model.txt") })).rejects.toThrow(
      /not a model Duet can use/,
    );
  });
});

describe("downloads in the window (through the app host)", () => {
  const COMMIT = "0123456789abcdef0123456789abcdef01234567";
  const body = bytes(3_000_000, 21);

  /** An app host whose catalog (DUET_CATALOG) has one model, served by `server` as a mirror of Hugging Face. */
  async function downloadingHost(mirror: string) {
    const dir = mkdtempSync(join(tmpdir(), "duet-host-dl-"));
    const catalogFile = join(dir, "catalog.json");
    writeFileSync(
      catalogFile,
      JSON.stringify({
        models: [
          {
            id: "test-stt",
            name: "Test",
            kind: "stt",
            fileName: "ggml-test.bin",
            uri: `https://huggingface.co/test/repo/resolve/${COMMIT}/ggml-test.bin`,
            sizeBytes: body.length,
            sha256: sha256(body),
            license: "MIT",
            description: "test",
          },
        ],
      }),
    );
    process.env.DUET_CATALOG = catalogFile;
    const events: AppEvent[] = [];
    const waiters: Array<() => void> = [];
    const host = new AppHost({
      dataDir: join(dir, "data"),
      modelsDir: join(dir, "models"),
      launcher: new FakeLauncher(),
      emit: (e) => {
        events.push(e);
        waiters.splice(0).forEach((w) => w());
      },
      emitAudio: () => {},
      downloadDefaults: { freeBytes: async () => 1e12, offlineRetryMs: 1000 },
    });
    await host.init();
    await host.request("settings:update", { patch: { models: { mirrorBaseUrl: mirror } } });
    /** The first download event that satisfies `test`, waiting for events as they come. */
    const next = async (test: (e: Extract<AppEvent, { type: "download" }>) => boolean) => {
      for (;;) {
        const found = events.find(
          (e): e is Extract<AppEvent, { type: "download" }> => e.type === "download" && test(e),
        );
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    return { host, events, next };
  }
  afterEach(() => {
    delete process.env.DUET_CATALOG;
  });

  it("shows 'connecting' at once, and a cancel is not reported as a failure", async () => {
    const server = await startFileServer({
      [`/test/repo/resolve/${COMMIT}/ggml-test.bin`]: { body, behave: () => "slow" },
    });
    try {
      const { host, events, next } = await downloadingHost(server.url);
      await host.request("models:download", { id: "test-stt" });
      const first = events.find((e) => e.type === "download");
      expect(first).toMatchObject({ progress: { phase: "connecting", receivedBytes: 0 } });
      await next((e) => e.progress?.phase === "downloading" && e.progress.receivedBytes > 0);
      await host.request("models:cancel", { id: "test-stt" });
      await next((e) => e.cancelled === true);
      expect(events.some((e) => e.type === "download" && e.error !== undefined)).toBe(false);
      const { models } = await host.request("models:list", {});
      expect(models.find((m) => m.id === "test-stt")).toMatchObject({ installed: false });
      expect(models.find((m) => m.id === "test-stt")!.partialBytes).toBeGreaterThan(0);
      host.dispose();
    } finally {
      await server.close();
    }
  });

  it("says in words that there is no connection and when it retries", async () => {
    const { host, events, next } = await downloadingHost(await closedPortUrl());
    await host.request("models:download", { id: "test-stt" });
    const waiting = await next((e) => e.progress?.phase === "waiting");
    expect(waiting.progress!.message).toMatch(
      /^127\.0\.0\.1:\d+ refused the connection\. Retrying in 1 s; Cancel keeps what was downloaded\.$/,
    );
    await host.request("models:cancel", { id: "test-stt" });
    await next((e) => e.cancelled === true);
    expect(events.some((e) => e.type === "download" && e.error !== undefined)).toBe(false);
    host.dispose();
  });
});
