import {
  mkdtempSync,
  writeFileSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { AppHost, type AppHostDialogs } from "../../src/main/host/appHost.js";
import { EngineHost, type WorkerHandle, type WorkerLauncher } from "../../src/main/host/engineHost.js";
import type { AppEvent, EngineStatus } from "../../src/shared/ipc/contract.js";
import type { FromWorker, ToWorker } from "../../src/main/worker/protocol.js";
import type { ProbeReply } from "../../src/main/worker/probeProtocol.js";
import type { ProcessHandle, ProcessLauncher } from "../../src/main/host/processes.js";
import {
  requestSchemas,
  type RequestArgs,
  type RequestChannel,
  type RequestResult,
} from "../../src/shared/ipc/contract.js";
import { handleRequest } from "../../src/main/ipc/requests.js";
import type { AssistantConfig } from "../../src/engine/session/config.js";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { bytes, closedPortUrl, sha256, startFileServer } from "../helpers/fileServer.js";
import { runCli } from "../helpers/cli.js";
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

/** A hardware probe process that answers, or dies before answering (a GPU driver crash). */
class FakeProbeLauncher implements ProcessLauncher<never, ProbeReply> {
  launches = 0;
  constructor(private readonly behaviour: "answer" | "crash") {}
  launch(): ProcessHandle<never, ProbeReply> {
    this.launches++;
    let onMessage: (m: ProbeReply) => void = () => {};
    let onExit: (code: number | null) => void = () => {};
    queueMicrotask(() => {
      if (this.behaviour === "crash") onExit(139);
      else
        onMessage({
          type: "hardware",
          info: {
            platform: "linux",
            arch: "x64",
            cpuModel: "test CPU",
            cpuThreads: 2,
            ramBytes: 8e9,
            freeRamBytes: 4e9,
            gpus: [],
          },
        });
    });
    return {
      post: () => {},
      onMessage: (l) => (onMessage = l),
      onExit: (l) => (onExit = l),
      kill: () => {},
    };
  }
}

const config = { files: { llm: "/m.gguf" } } as AssistantConfig;

describe("the engine host (utility process lifecycle)", () => {
  it("restarts a crashed engine with the same configuration and the conversation so far", () => {
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const launcher = new FakeLauncher();
    const statuses: EngineStatus[] = [];
    const host = new EngineHost({
      launcher,
      onMessage: () => {},
      onStatus: (s) => statuses.push(s),
      restartDelaysMs: [10, 10],
    });
    host.switchConversation("c1", []);
    host.start(config);
    expect(launcher.workers[0]!.posted[0]).toEqual({
      type: "start",
      config,
      history: [],
      conversation: "c1",
    });
    // A history about another conversation (from before a switch) is ignored.
    launcher.workers[0]!.reply({
      type: "history",
      history: [{ user: "old", answer: "x" }],
      conversation: "c0",
    });
    launcher.workers[0]!.reply({
      type: "history",
      history: [{ user: "hi", answer: "hello" }],
      conversation: "c1",
    });
    launcher.workers[0]!.crash();
    expect(statuses.at(-1)).toMatchObject({
      status: "crashed",
      restartInMs: 10,
      message: expect.stringMatching(/conversation is kept/),
    });
    vi.advanceTimersByTime(9);
    expect(launcher.workers).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(launcher.workers).toHaveLength(2);
    expect(launcher.workers[1]!.posted[0]).toEqual({
      type: "start",
      config,
      history: [{ user: "hi", answer: "hello" }],
      conversation: "c1",
    });
    // Crashing again and again: after the allowed restarts it gives up and says what to check.
    launcher.workers[1]!.crash();
    vi.advanceTimersByTime(10);
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
    host.start({ ...config, files: { ...config.files, llm: "/other.gguf" } });
    expect(launcher.workers[0]!.killed).toBe(true);
    expect(statuses).toEqual([]);
    expect(host.send({ type: "stop" })).toBe(true);
    host.stop();
    expect(host.send({ type: "stop" })).toBe(false);
  });
});

const readyStatus: FromWorker = {
  type: "status",
  engine: {
    status: "ready",
    model: "demo.gguf",
    modelPath: "/models/demo.gguf",
    runsOn: "CPU",
    voice: "system",
    speechToText: null,
    notices: [],
  },
};

async function appHost(
  options: {
    probe?: "answer" | "crash";
    overrides?: { models: { mirrorBaseUrl: string } };
    dir?: string;
    /** Default: `data` in `dir`. */
    dataDir?: string;
    recheckMs?: number;
    dialogs?: AppHostDialogs;
  } = {},
) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "duet-host-"));
  mkdirSync(join(dir, "models"), { recursive: true });
  copyFileSync(await tinyModelPath({ program: DEMO_PROGRAM }), join(dir, "models", "demo.gguf"));
  const launcher = new FakeLauncher();
  const probeLauncher = new FakeProbeLauncher(options.probe ?? "answer");
  const events: AppEvent[] = [];
  const host = new AppHost({
    dataDir: options.dataDir ?? join(dir, "data"),
    modelsDir: join(dir, "models"),
    launcher,
    probeLauncher,
    emit: (e) => events.push(e),
    emitAudio: () => {},
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.recheckMs ? { recheckMs: options.recheckMs } : {}),
    ...(options.dialogs ? { dialogs: options.dialogs } : {}),
  });
  await host.init();
  const request = (channel: string, args: unknown) => handleRequest(host.handlers, channel, args);
  /** Waits until the host has applied settings changes to the engine. */
  const settled = () => host.whenSettled();
  return { dir, host, launcher, probeLauncher, events, request, settled };
}

describe("the app host (main process state)", () => {
  it("starts the engine with a model found in the models folder and the settings' options", async () => {
    const { launcher, dir } = await appHost();
    const start = launcher.workers[0]!.posted[0] as Extract<ToWorker, { type: "start" }>;
    expect(start.config).toMatchObject({
      files: { llm: join(dir, "models", "demo.gguf"), stt: null, voice: null },
      hardware: { gpu: "auto" },
      reasoning: { layout: "paper", probeInterval: 20, mode: "async" },
    });
  });

  it("has exactly one handler for each request of the contract", async () => {
    const { host } = await appHost();
    expect(Object.keys(host.handlers).sort()).toEqual(Object.keys(requestSchemas).sort());
    for (const handler of Object.values(host.handlers)) expect(typeof handler).toBe("function");
  });

  it("validates requests before they reach the engine", async () => {
    const { request } = await appHost();
    await expect(request("session:send-text", { text: 42 })).rejects.toThrow(
      /Invalid session:send-text request: text/,
    );
    await expect(request("settings:update", { patch: { hardware: { gpu: "quantum" } } })).rejects.toThrow(
      /hardware\.gpu/,
    );
    await expect(request("session:send-text", { text: "hi" })).rejects.toThrow(/not ready/);
  });

  it("restarts the engine only for settings it depends on, keeping the conversation", async () => {
    const { launcher, events, request, settled } = await appHost();
    launcher.workers[0]!.reply(readyStatus);
    await request("session:send-text", { text: "hello" });
    expect(launcher.workers[0]!.posted.at(-1)).toEqual({ type: "text", text: "hello" });
    await request("settings:update", { patch: { hotkey: { pushToTalk: "F9" } } });
    await settled();
    expect(launcher.workers).toHaveLength(1);
    expect(events.some((e) => e.type === "settings" && e.settings.hotkey.pushToTalk === "F9")).toBe(true);
    const { conversation } = launcher.workers[0]!.posted[0] as Extract<ToWorker, { type: "start" }>;
    launcher.workers[0]!.reply({ type: "history", history: [{ user: "hello", answer: "hi" }], conversation });
    await request("settings:update", { patch: { reasoning: { layout: "compact" } } });
    await settled();
    expect(launcher.workers).toHaveLength(2);
    expect(launcher.workers[1]!.posted[0]).toMatchObject({
      type: "start",
      config: { reasoning: { layout: "compact" } },
      history: [{ user: "hello", answer: "hi" }],
    });
  });

  it("shows a chosen model that disappeared as missing, and never runs another one instead", async () => {
    const { dir, host, launcher, request, settled } = await appHost();
    copyFileSync(join(dir, "models", "demo.gguf"), join(dir, "models", "other.gguf"));
    await request("settings:update", { patch: { models: { llm: join(dir, "models", "demo.gguf") } } });
    await settled();
    const runs = launcher.workers.length;
    rmSync(join(dir, "models", "demo.gguf"));
    await request("settings:update", { patch: { reasoning: { probeInterval: 25 } } });
    await settled();
    expect(host.snapshot().engine).toMatchObject({
      status: "missing-model",
      message: expect.stringMatching(/chosen reasoning model demo\.gguf is missing.*pick another/),
    });
    expect(launcher.workers).toHaveLength(runs);
    await expect(request("session:send-text", { text: "hi" })).rejects.toThrow(/demo\.gguf is missing/);
  });

  it("applies DUET_MIRROR for the run without ever writing it to settings.json", async () => {
    const { dir, host, request } = await appHost({
      overrides: { models: { mirrorBaseUrl: "http://127.0.0.1:9/" } },
    });
    expect(host.snapshot().settings.models.mirrorBaseUrl).toBe("http://127.0.0.1:9/");
    await request("settings:update", { patch: { speech: { rate: 1.5 } } });
    const saved = JSON.parse(readFileSync(join(dir, "data", "settings.json"), "utf8")) as {
      models: { mirrorBaseUrl: string | null };
      speech: { rate: number };
    };
    expect(saved.speech.rate).toBe(1.5);
    expect(saved.models.mirrorBaseUrl).toBeNull();
  });

  it("stays up when the hardware probe crashes, and offers the CPU with the reason", async () => {
    const { request, probeLauncher } = await appHost({ probe: "crash" });
    const answer = (await request("models:recommend", {})) as {
      hardware: { gpus: Array<{ usable: boolean; problem?: string }>; cpuThreads: number };
      recommendation: { gpu: string };
    };
    expect(answer.recommendation.gpu).toBe("cpu");
    expect(answer.hardware.cpuThreads).toBeGreaterThan(0);
    expect(answer.hardware.gpus[0]).toMatchObject({
      usable: false,
      problem: expect.stringMatching(/GPU check stopped unexpectedly \(exit code 139\)/),
    });
    // The failure is not cached: the next request asks again.
    await request("models:recommend", {});
    expect(probeLauncher.launches).toBe(2);
  });

  it("asks the probe once when it answers", async () => {
    const { request, probeLauncher } = await appHost();
    await request("models:recommend", {});
    await request("models:recommend", {});
    expect(probeLauncher.launches).toBe(1);
  });

  it("uses the newest model when none is chosen", async () => {
    const { dir, launcher, request, settled } = await appHost();
    copyFileSync(join(dir, "models", "demo.gguf"), join(dir, "models", "newer.gguf"));
    utimesSync(join(dir, "models", "demo.gguf"), new Date(2020, 1, 1), new Date(2020, 1, 1));
    await request("settings:update", { patch: { reasoning: { probeInterval: 21 } } });
    await settled();
    const start = launcher.workers.at(-1)!.posted[0] as Extract<ToWorker, { type: "start" }>;
    expect(start.config.files.llm).toBe(join(dir, "models", "newer.gguf"));
  });

  it("runs the same model as `ask` from the same folder and settings", async () => {
    const { dir, launcher, request, settled } = await appHost();
    copyFileSync(join(dir, "models", "demo.gguf"), join(dir, "models", "b-newest.gguf"));
    utimesSync(join(dir, "models", "demo.gguf"), new Date(2023, 0, 1), new Date(2023, 0, 1));
    await request("settings:update", { patch: { reasoning: { probeInterval: 22 } } });
    await settled();
    const start = launcher.workers.at(-1)!.posted[0] as Extract<ToWorker, { type: "start" }>;
    const env = { DUET_DATA_DIR: join(dir, "data"), DUET_MODELS_DIR: join(dir, "models") };
    const ask = await runCli("ask.ts", ["--gpu", "cpu", "--json", "What is two plus two?"], { env });
    expect(ask.code).toBe(0);
    const summary = JSON.parse(ask.stdout.trim().split("\n").at(-1)!) as { model: string };
    expect(summary.model).toBe(start.config.files.llm);
    expect(summary.model).toBe(join(dir, "models", "b-newest.gguf"));
    // A choice in Settings wins for both.
    await request("settings:update", { patch: { models: { llm: join(dir, "models", "demo.gguf") } } });
    await settled();
    const chosen = launcher.workers.at(-1)!.posted[0] as Extract<ToWorker, { type: "start" }>;
    const again = await runCli("ask.ts", ["--gpu", "cpu", "--json", "What is two plus two?"], { env });
    expect(JSON.parse(again.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      model: chosen.config.files.llm,
    });
    expect(chosen.config.files.llm).toBe(join(dir, "models", "demo.gguf"));
  }, 60_000);

  it("says so when no model is installed, and refuses importing a file that is not a model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-host-empty-"));
    const events: AppEvent[] = [];
    const host = new AppHost({
      dataDir: join(dir, "data"),
      modelsDir: join(dir, "models"),
      launcher: new FakeLauncher(),
      probeLauncher: new FakeProbeLauncher("answer"),
      emit: (e) => events.push(e),
      emitAudio: () => {},
    });
    await host.init();
    expect(host.snapshot().engine).toMatchObject({
      status: "no-model",
      message: expect.stringMatching(/download one/),
    });
    writeFileSync(join(dir, "not-a-model.txt"), "x");
    await expect(
      handleRequest(host.handlers, "models:import", { path: join(dir, "not-a-model.txt") }),
    ).rejects.toThrow(/not a model Duet can use/);
  });
});

describe("the app host with a damaged model in the folder", () => {
  it("never runs it: says which file cannot be used and why, and starts once a good model replaces it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-host-damaged-"));
    mkdirSync(join(dir, "models"));
    const good = readFileSync(await tinyModelPath({ program: DEMO_PROGRAM }));
    const damaged = join(dir, "models", "model.gguf");
    writeFileSync(damaged, good.subarray(0, Math.floor(good.length * 0.9)));
    const launcher = new FakeLauncher();
    const host = new AppHost({
      dataDir: join(dir, "data"),
      modelsDir: join(dir, "models"),
      launcher,
      probeLauncher: new FakeProbeLauncher("answer"),
      emit: () => {},
      emitAudio: () => {},
      recheckMs: 20,
    });
    await host.init();
    expect(host.snapshot().engine).toEqual({
      status: "no-model",
      message: expect.stringMatching(
        new RegExp(
          `^No reasoning model Duet can run is installed: ${damaged} is truncated: .* Download one to start\\.$`,
        ),
      ),
    });
    expect(launcher.workers).toHaveLength(0);
    const { models } = (await handleRequest(host.handlers, "models:list", {})) as {
      models: Array<{ path: string; installed: boolean; problem?: string }>;
    };
    expect(models.find((m) => m.path === damaged)).toMatchObject({
      installed: false,
      problem: expect.stringContaining("is truncated"),
    });
    // The whole file is back (a download finished, a copy completed): the engine starts with it.
    writeFileSync(damaged, good);
    await expect.poll(() => launcher.workers.length, { timeout: 5000, interval: 20 }).toBe(1);
    expect(launcher.workers[0]!.posted[0]).toMatchObject({
      type: "start",
      config: { files: { llm: damaged } },
    });
    host.dispose();
  });
});

describe("the app host with a data folder it cannot write", () => {
  /** Root can write anywhere: the folders are made unwritable by their shape instead. */
  const folders = {
    "beneath a regular file": (dir: string) => {
      writeFileSync(join(dir, "blocker"), "not a folder\n");
      return { dataDir: join(dir, "blocker", "duet"), named: join(dir, "blocker", "duet", "settings.json") };
    },
    "whose settings.json is a folder": (dir: string) => {
      mkdirSync(join(dir, "data", "settings.json"), { recursive: true });
      return { dataDir: join(dir, "data"), named: join(dir, "data", "settings.json") };
    },
  };

  it.each(Object.keys(folders) as Array<keyof typeof folders>)(
    "comes up %s: settings in memory, the engine started, a notice that says where and how to fix it",
    async (shape) => {
      const dir = mkdtempSync(join(tmpdir(), "duet-host-unwritable-"));
      const { dataDir, named } = folders[shape](dir);
      const { host, launcher, events, request, settled } = await appHost({ dir, dataDir });
      // The engine runs the model found in the models folder (DUET_MODELS_DIR elsewhere).
      expect(launcher.workers[0]!.posted[0]).toMatchObject({
        type: "start",
        config: { files: { llm: join(dir, "models", "demo.gguf") } },
      });
      const notice = host.snapshot().notice;
      expect(notice?.message).toContain(named);
      expect(notice?.message).toMatch(/Fix: .*Default settings are in use/);
      expect(notice?.message).not.toMatch(/\bE[A-Z]{3,}\b/);
      // A change holds for this run, reaches the engine, and every settings event carries the notice.
      launcher.workers[0]!.reply(readyStatus);
      await request("settings:update", { patch: { reasoning: { layout: "compact" } } });
      await settled();
      expect(host.snapshot().settings.reasoning.layout).toBe("compact");
      expect(launcher.workers.at(-1)!.posted[0]).toMatchObject({
        config: { reasoning: { layout: "compact" } },
      });
      const settingsEvents = events.filter((e) => e.type === "settings");
      expect(settingsEvents.length).toBeGreaterThan(0);
      for (const event of settingsEvents)
        expect(event).toMatchObject({ notice: { message: notice!.message } });
      // Nothing was written where the folder or file stands in the way.
      if (shape === "beneath a regular file")
        expect(readFileSync(join(dir, "blocker"), "utf8")).toBe("not a folder\n");
      else expect(readdirSync(join(dir, "data", "settings.json"))).toEqual([]);
      host.dispose();
    },
  );

  it("explains a download into a models folder it cannot make, in words", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-host-unwritable-"));
    writeFileSync(join(dir, "blocker"), "not a folder\n");
    let failed: (error: string) => void = () => {};
    const failure = new Promise<string>((resolve) => (failed = resolve));
    const host = new AppHost({
      dataDir: join(dir, "blocker", "duet"),
      modelsDir: join(dir, "blocker", "duet", "models"),
      launcher: new FakeLauncher(),
      probeLauncher: new FakeProbeLauncher("answer"),
      emit: (e) => e.type === "download" && e.error !== undefined && failed(e.error),
      emitAudio: () => {},
      // Nothing may reach the network if the folder were made after all.
      overrides: { models: { mirrorBaseUrl: await closedPortUrl() } },
    });
    await host.init();
    expect(host.snapshot().engine).toMatchObject({ status: "no-model" });
    await handleRequest(host.handlers, "models:download", { id: "silero-vad" });
    expect(await failure).toBe(
      `Duet cannot create ${join(dir, "blocker", "duet", "models")}: part of that path is a file, not a folder. Fix: set DUET_DATA_DIR to another folder.`,
    );
    host.dispose();
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
      probeLauncher: new FakeProbeLauncher("answer"),
      emit: (e) => {
        events.push(e);
        waiters.splice(0).forEach((w) => w());
      },
      emitAudio: () => {},
      downloadDefaults: { freeBytes: async () => 1e12, offlineRetryMs: 1000 },
    });
    await host.init();
    const request = <C extends RequestChannel>(channel: C, args: RequestArgs<C>) =>
      handleRequest(host.handlers, channel, args) as Promise<RequestResult<C>>;
    await request("settings:update", { patch: { models: { mirrorBaseUrl: mirror } } });
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
    return { host, events, next, request };
  }
  afterEach(() => {
    delete process.env.DUET_CATALOG;
  });

  it("shows 'connecting' at once, and a cancel is not reported as a failure", async () => {
    const server = await startFileServer({
      [`/test/repo/resolve/${COMMIT}/ggml-test.bin`]: { body, behave: () => "slow" },
    });
    try {
      const { host, events, next, request } = await downloadingHost(server.url);
      await request("models:download", { id: "test-stt" });
      const first = events.find((e) => e.type === "download");
      expect(first).toMatchObject({ progress: { phase: "connecting", receivedBytes: 0 } });
      await next((e) => e.progress?.phase === "downloading" && e.progress.receivedBytes > 0);
      await request("models:cancel", { id: "test-stt" });
      await next((e) => e.cancelled === true);
      expect(events.some((e) => e.type === "download" && e.error !== undefined)).toBe(false);
      const { models } = await request("models:list", {});
      expect(models.find((m) => m.id === "test-stt")).toMatchObject({ installed: false });
      expect(models.find((m) => m.id === "test-stt")!.partialBytes).toBeGreaterThan(0);
      host.dispose();
    } finally {
      await server.close();
    }
  });

  it("says in words that there is no connection and when it retries", async () => {
    const { host, events, next, request } = await downloadingHost(await closedPortUrl());
    await request("models:download", { id: "test-stt" });
    const waiting = await next((e) => e.progress?.phase === "waiting");
    expect(waiting.progress!.message).toMatch(
      /^127\.0\.0\.1:\d+ refused the connection\. Retrying in 1 s; Cancel keeps what was downloaded\.$/,
    );
    await request("models:cancel", { id: "test-stt" });
    await next((e) => e.cancelled === true);
    expect(events.some((e) => e.type === "download" && e.error !== undefined)).toBe(false);
    host.dispose();
  });
});

describe("the app host's conversations, retries and live settings", () => {
  type Start = Extract<ToWorker, { type: "start" }>;
  const at = { timeMs: 0, step: 0 };
  const turnEvent = (event: Record<string, unknown>): FromWorker => ({
    type: "event",
    event: { type: "turn", event: { ...at, ...event } } as AppEvent,
  });
  /** What the engine process reports for one whole typed turn. */
  const answered = (thought: string, answer: string): FromWorker[] => [
    turnEvent({ type: "start", mode: "async", layout: "paper", turn: 1, thoughtSharing: "every step" }),
    turnEvent({ type: "thought", text: thought, token: 1, index: 0 }),
    turnEvent({ type: "answer", text: answer, token: 2, index: 0 }),
    turnEvent({ type: "end", reason: "end-of-turn", metrics: {} }),
  ];

  it("keeps the conversation across a restart: the window sees its turns, the engine continues it", async () => {
    const first = await appHost();
    const worker = first.launcher.workers[0]!;
    worker.reply(readyStatus);
    await first.request("session:send-text", { text: "What is two plus two?" });
    for (const message of answered("Adding.", "It is 4.")) worker.reply(message);
    const { conversation } = worker.posted[0] as Start;
    const history = [{ user: "What is two plus two?", answer: "It is 4." }];
    worker.reply({ type: "history", history, conversation });
    await first.host.flush();
    first.host.dispose();

    const second = await appHost({ dir: first.dir });
    const snapshot = second.host.snapshot();
    expect(snapshot.conversation.id).toBe(conversation);
    expect(snapshot.conversation.turns).toEqual([
      expect.objectContaining({
        user: "What is two plus two?",
        thoughts: "Adding.",
        answerTokens: ["It is 4."],
      }),
    ]);
    expect(snapshot.conversations).toEqual([expect.objectContaining({ id: conversation, turns: 1 })]);
    expect(second.launcher.workers[0]!.posted[0]).toMatchObject({ type: "start", history, conversation });
  });

  it("switches the engine to another conversation without a reload, and drops what the old turn still reports", async () => {
    const { launcher, request, events, host } = await appHost();
    const worker = launcher.workers[0]!;
    worker.reply(readyStatus);
    const old = (worker.posted[0] as Start).conversation;
    await request("session:send-text", { text: "First" });
    for (const message of answered("a", "b")) worker.reply(message);
    worker.reply({ type: "history", history: [{ user: "First", answer: "b" }], conversation: old });
    await host.flush();

    const fresh = (await request("conversations:new", {})) as { id: string; turns: unknown[] };
    expect(fresh.turns).toEqual([]);
    expect(worker.posted.slice(-2)).toEqual([
      { type: "stop" },
      { type: "restore", history: [], conversation: fresh.id },
    ]);
    expect(launcher.workers).toHaveLength(1);
    // The old conversation's turn, still ending, is not the new one's.
    const before = events.length;
    worker.reply(turnEvent({ type: "answer", text: "late", token: 3, index: 1 }));
    expect(events.length).toBe(before);
    worker.reply({ type: "history", history: [], conversation: fresh.id });
    worker.reply(turnEvent({ type: "start", mode: "async", layout: "paper", turn: 1, thoughtSharing: "x" }));
    expect(events.at(-1)).toMatchObject({ type: "turn" });

    await request("conversations:open", { id: old });
    expect(worker.posted.at(-1)).toEqual({
      type: "restore",
      history: [{ user: "First", answer: "b" }],
      conversation: old,
    });
    await expect(request("conversations:open", { id: "no-such-thing" })).rejects.toThrow(/does not exist/);
  });

  it("exports Markdown into the data folder, or where the save dialog says", async () => {
    const chosen: string[] = [];
    const exportDir = mkdtempSync(join(tmpdir(), "duet-export-"));
    const { dir, launcher, request, host } = await appHost({
      dialogs: {
        chooseModelFile: async () => "/models/picked.gguf",
        chooseExportFile: async (name) => {
          chosen.push(name);
          return join(exportDir, name);
        },
      },
    });
    const worker = launcher.workers[0]!;
    worker.reply(readyStatus);
    await request("session:send-text", { text: "Why is the sky blue?" });
    for (const message of answered("Scattering.", "Rayleigh scattering.")) worker.reply(message);
    await host.flush();
    const id = host.snapshot().conversation.id;
    const { path } = (await request("conversations:export", { id, thinking: true })) as { path: string };
    expect(chosen).toEqual(["Why is the sky blue.md"]);
    expect(path).toBe(join(exportDir, "Why is the sky blue.md"));
    expect(readFileSync(path, "utf8")).toMatch(
      /^# Why is the sky blue\?\n[\s\S]*> Scattering\.[\s\S]*Rayleigh scattering\./,
    );
    expect(await request("models:choose-file", {})).toEqual({ path: "/models/picked.gguf" });

    // Without dialogs (the harness): into <data>/exports, never over an earlier export.
    const plain = await appHost({ dir });
    const first = (await plain.request("conversations:export", { id, thinking: false })) as { path: string };
    const second = (await plain.request("conversations:export", { id, thinking: false })) as { path: string };
    expect(first.path).toBe(join(dir, "data", "exports", "Why is the sky blue.md"));
    expect(second.path).toBe(join(dir, "data", "exports", "Why is the sky blue (2).md"));
    expect(readFileSync(first.path, "utf8")).not.toMatch(/Scattering\./);
    await expect(plain.request("models:choose-file", {})).rejects.toThrow(/works in the desktop app/);
  });

  it("applies hands-free settings live, without reloading the model", async () => {
    const { launcher, request, settled } = await appHost();
    launcher.workers[0]!.reply(readyStatus);
    await request("settings:update", { patch: { speech: { handsFree: true, pauseMs: 1200 } } });
    await settled();
    expect(launcher.workers).toHaveLength(1);
    expect(launcher.workers[0]!.posted.at(-1)).toEqual({
      type: "session-options",
      handsFree: { handsFree: true, pauseMs: 1200, interruptBySpeaking: true },
    });
    // A setting that does need a new engine brings the live ones along.
    await request("settings:update", { patch: { speech: { rate: 1.5 } } });
    await settled();
    expect(launcher.workers).toHaveLength(2);
    expect((launcher.workers[1]!.posted[0] as Start).config.speech).toMatchObject({
      rate: 1.5,
      handsFree: true,
      pauseMs: 1200,
    });
  });

  it("tries again after a failure when asked, and starts by itself once a missing model is back", async () => {
    const { dir, launcher, request, settled, host, events } = await appHost({ recheckMs: 20 });
    launcher.workers[0]!.reply({ type: "status", engine: { status: "failed", message: "out of memory" } });
    await request("engine:retry", {});
    await settled();
    expect(launcher.workers).toHaveLength(2);

    const model = join(dir, "models", "demo.gguf");
    await request("settings:update", { patch: { models: { llm: model } } });
    await settled();
    const saved = readFileSync(model);
    rmSync(model);
    await request("engine:retry", {});
    await settled();
    expect(host.snapshot().engine.status).toBe("missing-model");
    const runs = launcher.workers.length;
    writeFileSync(model, saved);
    await expect.poll(() => launcher.workers.length, { timeout: 5000, interval: 20 }).toBeGreaterThan(runs);
    expect(host.snapshot().engine.status).toBe("loading");
    // While it was missing, the same status was not sent again at every look.
    expect(events.filter((e) => e.type === "engine" && e.engine.status === "missing-model")).toHaveLength(1);
    host.dispose();
  });
});
