/**
 * What the main process owns, independent of Electron: settings, models and downloads, and the
 * engine process. The Electron entry and the dev harness wire it to their own transports.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DuetError, isDuetError } from "../../engine/errors.js";
import { detectHardware } from "../../engine/llama/hardware.js";
import { catalog, findCatalogEntry, type ModelKind } from "../../engine/models/catalog.js";
import type { DownloadOptions, DownloadProgress } from "../../engine/models/download.js";
import { ModelManager, type ModelStatus } from "../../engine/models/manager.js";
import { recommendSetup } from "../../engine/models/recommend.js";
import type { Settings } from "../../engine/settings/schema.js";
import { SILERO_MODEL_FILE } from "../../engine/speech/vad.js";
import { SettingsStore, type DeepPartial } from "../../engine/settings/store.js";
import type {
  AppEvent,
  AppSnapshot,
  AudioChunk,
  EngineStatus,
  RequestArgs,
  RequestChannel,
  RequestResult,
  SessionState,
} from "../ipc/contract.js";
import { requestSchemas } from "../ipc/schemas.js";
import type { WorkerConfig } from "../worker/protocol.js";
import { EngineHost, type WorkerLauncher } from "./engineHost.js";

export interface AppHostOptions {
  dataDir: string;
  modelsDir: string;
  launcher: WorkerLauncher;
  emit: (event: AppEvent) => void;
  emitAudio: (chunk: AudioChunk) => void;
  downloadDefaults?: Partial<Omit<DownloadOptions, "url" | "destination">>;
  restartDelaysMs?: readonly number[];
}

export class AppHost {
  private settings!: SettingsStore;
  private models!: ModelManager;
  private readonly engineHost: EngineHost;
  private engineStatus: EngineStatus = { status: "loading", message: "Starting…" };
  private sessionState: SessionState = "idle";
  private readonly downloads = new Map<string, AbortController>();

  constructor(private readonly options: AppHostOptions) {
    this.engineHost = new EngineHost({
      launcher: options.launcher,
      ...(options.restartDelaysMs ? { restartDelaysMs: options.restartDelaysMs } : {}),
      onStatus: (engine) => {
        this.engineStatus = engine;
        this.options.emit({ type: "engine", engine });
        if (engine.status !== "ready") this.setState("idle");
      },
      onMessage: (message) => {
        if (message.type === "event") {
          if (message.event.type === "state") this.sessionState = message.event.state;
          this.options.emit(message.event);
        } else if (message.type === "audio") {
          this.options.emitAudio(message.chunk);
        }
      },
    });
  }

  private setState(state: SessionState): void {
    if (this.sessionState === state) return;
    this.sessionState = state;
    this.options.emit({ type: "state", state });
  }

  async init(): Promise<void> {
    this.settings = await SettingsStore.open(this.options.dataDir);
    this.models = new ModelManager({
      folder: this.options.modelsDir,
      settings: this.settings,
      ...(this.options.downloadDefaults ? { downloadDefaults: this.options.downloadDefaults } : {}),
    });
    await this.startEngine();
  }

  /** The installed path for a setting (a catalog id or a file path), or the first installed model of that kind. */
  private resolveModel(
    models: readonly ModelStatus[],
    kind: ModelKind,
    choice: string | null,
  ): string | null {
    const installed = models.filter((m) => m.kind === kind && m.installed);
    if (choice) {
      const match = installed.find((m) => m.id === choice || m.path === choice);
      if (match) return match.path;
      if (existsSync(choice)) return choice;
    }
    return installed[0]?.path ?? null;
  }

  private async workerConfig(): Promise<WorkerConfig | undefined> {
    const s = this.settings.get();
    const models = await this.models.list();
    const llmPath = this.resolveModel(models, "llm", s.models.llm);
    if (!llmPath) return undefined;
    return {
      llmPath,
      sttPath: this.resolveModel(models, "stt", s.models.stt),
      voicePath: s.models.voice ? this.resolveModel(models, "tts", s.models.voice) : null,
      vadPath: join(this.options.modelsDir, SILERO_MODEL_FILE),
      gpu: s.hardware.gpu as WorkerConfig["gpu"],
      threads: s.hardware.threads,
      contextSize: s.hardware.contextSize,
      gpuLayers: s.hardware.gpuLayers,
      layout: s.reasoning.layout,
      mode: s.reasoning.mode,
      probeInterval: s.reasoning.probeInterval,
      safety: s.reasoning.safety,
      maxSteps: s.reasoning.maxSteps,
      language: s.speech.language,
      vocabularyPrompt: s.speech.vocabularyPrompt,
      rate: s.speech.rate,
    };
  }

  private async startEngine(): Promise<void> {
    this.runEngine(await this.workerConfig());
  }

  /** (Re)starts the engine with this configuration, or stops it and says so when there is none (no model). */
  private runEngine(config: WorkerConfig | undefined): void {
    if (!config) {
      this.engineHost.stop();
      this.engineStatus = {
        status: "no-model",
        message: "No reasoning model is installed yet: download one to start.",
      };
      this.options.emit({ type: "engine", engine: this.engineStatus });
      return;
    }
    this.engineHost.start(config);
  }

  snapshot(): AppSnapshot {
    return {
      engine: this.engineStatus,
      settings: this.settings.get(),
      ...(this.settings.notice ? { notice: this.settings.notice } : {}),
      state: this.sessionState,
      history: [...this.engineHost.conversation],
    };
  }

  /** Microphone frames from the window. */
  audio(samples: Float32Array): void {
    this.engineHost.send({ type: "audio", samples });
  }

  /** Validates and answers one request. Throws DuetErrors with readable messages. */
  async request<C extends RequestChannel>(channel: C, rawArgs: unknown): Promise<RequestResult<C>> {
    const schema = requestSchemas[channel];
    if (!schema) throw new DuetError("invalid-argument", `Unknown request "${String(channel)}".`);
    const parsed = schema.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new DuetError(
        "invalid-argument",
        `Invalid ${channel} request: ${issue?.path.join(".") || "arguments"} ${issue?.message ?? ""}`.trim(),
      );
    }
    const args = parsed.data as RequestArgs<C>;
    return (await this.dispatch(channel, args)) as RequestResult<C>;
  }

  private requireEngine(): void {
    if (this.engineStatus.status !== "ready") {
      throw new DuetError(
        "engine-busy",
        this.engineStatus.status === "no-model"
          ? this.engineStatus.message
          : `The engine is not ready: ${"message" in this.engineStatus ? this.engineStatus.message : ""}`,
      );
    }
  }

  private async dispatch(channel: RequestChannel, args: unknown): Promise<unknown> {
    const a = args as Record<string, unknown>;
    switch (channel) {
      case "app:snapshot":
        return this.snapshot();
      case "session:push-to-talk":
        this.requireEngine();
        this.engineHost.send({ type: "push-to-talk", down: a.down as boolean });
        return null;
      case "session:send-text":
        this.requireEngine();
        this.engineHost.send({ type: "text", text: a.text as string });
        return null;
      case "session:stop":
        this.engineHost.send({ type: "stop" });
        return null;
      case "playback:report":
        this.engineHost.send({
          type: "playback",
          chunkId: a.chunkId as number,
          event: a.event as "started" | "ended" | "stopped",
        });
        return null;
      case "settings:update":
        return this.updateSettings(a.patch as DeepPartial<Settings>);
      case "models:list":
        return { models: await this.models.list(), catalog: catalog() };
      case "models:download":
        this.download(a.id as string);
        return null;
      case "models:cancel":
        this.downloads.get(a.id as string)?.abort();
        return null;
      case "models:import":
        return this.importModel(a.path as string);
      case "models:remove":
        await this.models.remove(a.id as string);
        return null;
      case "models:recommend": {
        const hardware = await detectHardware();
        return { hardware, recommendation: recommendSetup(hardware) };
      }
      case "voice:preview":
        this.requireEngine();
        this.engineHost.send({ type: "preview", text: a.text as string });
        return null;
    }
  }

  private async updateSettings(patch: DeepPartial<Settings>): Promise<Settings> {
    const before = JSON.stringify(await this.workerConfig());
    const settings = await this.settings.update(patch);
    this.options.emit({ type: "settings", settings });
    // Only changes the engine depends on restart it (the conversation is kept).
    const after = await this.workerConfig();
    if (JSON.stringify(after) !== before) this.runEngine(after);
    return settings;
  }

  private async importModel(path: string): Promise<ModelStatus> {
    const status = await this.models.import(path);
    await this.adopt(status.kind, status.path);
    return status;
  }

  /** A newly installed model becomes the choice of its kind when none was chosen yet. */
  private async adopt(kind: ModelKind, id: string): Promise<void> {
    const current = this.settings.get().models;
    const key = ({ llm: "llm", stt: "stt", tts: "voice", vad: undefined } as const)[kind];
    if (!key) return;
    if (current[key] === null || (kind === "llm" && this.engineStatus.status === "no-model")) {
      await this.updateSettings({ models: { [key]: id } });
    } else if (kind === "llm" && this.engineStatus.status !== "ready") {
      await this.startEngine();
    }
  }

  private download(id: string): void {
    if (this.downloads.has(id)) return;
    const entry = findCatalogEntry(id);
    if (!entry) throw new DuetError("invalid-argument", `Unknown model "${id}".`);
    const controller = new AbortController();
    this.downloads.set(id, controller);
    // The window says "Connecting…" as soon as the button is pressed, before the queue and the disk are asked.
    let phase: DownloadProgress["phase"] | undefined = "connecting";
    this.options.emit({
      type: "download",
      id,
      progress: {
        phase,
        receivedBytes: 0,
        totalBytes: entry.sizeBytes,
        bytesPerSecond: 0,
        etaSeconds: null,
        attempt: 1,
        resumed: false,
      },
    });
    let last = 0;
    void this.models
      .download(id, {
        signal: controller.signal,
        onProgress: (progress) => {
          // Every change of phase ("connecting…", a retry) shows at once; bytes ten times a second.
          const now = Date.now();
          const changed = progress.phase !== phase;
          phase = progress.phase;
          if (!changed && now - last < 100 && progress.receivedBytes !== progress.totalBytes) return;
          last = now;
          this.options.emit({ type: "download", id, progress });
        },
      })
      .then(async () => {
        this.options.emit({ type: "download", id, done: true });
        await this.adopt(entry.kind, id);
      })
      .catch((error: unknown) => {
        if (isDuetError(error, "aborted")) this.options.emit({ type: "download", id, cancelled: true });
        else
          this.options.emit({
            type: "download",
            id,
            error: error instanceof Error ? error.message : String(error),
          });
      })
      .finally(() => this.downloads.delete(id));
  }

  dispose(): void {
    for (const controller of this.downloads.values()) controller.abort();
    this.engineHost.stop();
  }
}
