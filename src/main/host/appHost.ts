/**
 * What the main process owns, independent of Electron: the settings store, the models and their
 * downloads, the engine process and the hardware probe. The Electron entry and the dev harness
 * wire it to their own transports (docs/architecture.md).
 */
import { DuetError, isDuetError } from "../../engine/errors.js";
import { catalog, findCatalogEntry, type ModelKind } from "../../engine/models/catalog.js";
import type { DownloadOptions, DownloadProgress } from "../../engine/models/download.js";
import { ModelManager, type ModelStatus } from "../../engine/models/manager.js";
import { recommendSetup } from "../../engine/models/recommend.js";
import { resolveAssistantConfig } from "../../engine/session/config.js";
import { SettingsStore } from "../../engine/settings/store.js";
import type {
  AppEvent,
  AppSnapshot,
  AudioChunk,
  EngineStatus,
  SessionState,
  Settings,
  SettingsPatch,
} from "../../shared/ipc/contract.js";
import type { RequestHandlers } from "../ipc/requests.js";
import type { ProbeReply } from "../worker/probeProtocol.js";
import { EngineHost, type WorkerLauncher } from "./engineHost.js";
import { HardwareProbe } from "./hardwareProbe.js";
import type { ProcessLauncher } from "./processes.js";

export interface AppHostOptions {
  dataDir: string;
  modelsDir: string;
  /** Starts the engine process. */
  launcher: WorkerLauncher;
  /** Starts the hardware probe process. */
  probeLauncher: ProcessLauncher<never, ProbeReply>;
  emit: (event: AppEvent) => void;
  emitAudio: (chunk: AudioChunk) => void;
  /** Settings for this run only, never saved (environment variables such as DUET_MIRROR). */
  overrides?: SettingsPatch;
  downloadDefaults?: Partial<Omit<DownloadOptions, "url" | "destination">>;
  restartDelaysMs?: readonly number[];
  /** Opens the logs folder in the file manager (the desktop app); its path is the reply. */
  openLogsFolder?: () => Promise<{ path: string }>;
}

/** Which setting holds the choice of each kind of model (the VAD model is not chosen). */
const CHOICE_KEY = { llm: "llm", stt: "stt", tts: "voice", vad: undefined } as const satisfies Record<
  ModelKind,
  keyof Settings["models"] | undefined
>;

export class AppHost {
  private settings: SettingsStore | undefined;
  private models: ModelManager | undefined;
  private readonly engineHost: EngineHost;
  private readonly hardware: HardwareProbe;
  private engineStatus: EngineStatus = { status: "loading", message: "Starting…" };
  private sessionState: SessionState = "idle";
  private readonly downloads = new Map<string, AbortController>();
  /** The configuration the engine runs with (JSON), to restart it only when that changes. */
  private runningConfig: string | undefined;
  /** Engine (re)configurations run one after another. */
  private configuring: Promise<void> = Promise.resolve();

  constructor(private readonly options: AppHostOptions) {
    this.engineHost = new EngineHost({
      launcher: options.launcher,
      ...(options.restartDelaysMs ? { restartDelaysMs: options.restartDelaysMs } : {}),
      onStatus: (engine) => this.setEngineStatus(engine),
      onMessage: (message) => {
        if (message.type === "event") {
          if (message.event.type === "state") this.sessionState = message.event.state;
          this.options.emit(message.event);
        } else if (message.type === "audio") {
          this.options.emitAudio(message.chunk);
        }
      },
    });
    this.hardware = new HardwareProbe({ launcher: options.probeLauncher });
  }

  private setEngineStatus(engine: EngineStatus): void {
    this.engineStatus = engine;
    this.options.emit({ type: "engine", engine });
    if (engine.status !== "ready") this.setState("idle");
  }

  private setState(state: SessionState): void {
    if (this.sessionState === state) return;
    this.sessionState = state;
    this.options.emit({ type: "state", state });
  }

  /** Opens the settings (never fails: problems become the settings notice) and starts the engine. */
  async init(): Promise<void> {
    const settings = await SettingsStore.open(this.options.dataDir);
    if (this.options.overrides) settings.override(this.options.overrides);
    this.settings = settings;
    this.models = new ModelManager({
      folder: this.options.modelsDir,
      settings,
      ...(this.options.downloadDefaults ? { downloadDefaults: this.options.downloadDefaults } : {}),
    });
    // Every change, from the window, a download or an import, reaches the window and may restart the engine.
    settings.on((current) => {
      this.options.emit({
        type: "settings",
        settings: current,
        ...(settings.notice ? { notice: settings.notice } : {}),
      });
      this.reconfigure();
    });
    this.reconfigure();
    await this.configuring;
  }

  /** Resolves once every settings change so far has reached the engine (started, restarted or stopped it). */
  async whenSettled(): Promise<void> {
    await this.configuring;
  }

  private get store(): SettingsStore {
    if (!this.settings) throw new DuetError("engine-busy", "Duet is still starting; try again in a moment.");
    return this.settings;
  }

  private get manager(): ModelManager {
    if (!this.models) throw new DuetError("engine-busy", "Duet is still starting; try again in a moment.");
    return this.models;
  }

  /** Resolves the settings to an assistant configuration and (re)starts the engine if it changed. */
  private reconfigure(): void {
    this.configuring = this.configuring
      .then(() => this.applyConfiguration())
      .catch((error: unknown) => {
        this.setEngineStatus({
          status: "failed",
          message: error instanceof Error ? error.message : String(error),
        });
      });
  }

  private async applyConfiguration(): Promise<void> {
    const resolved = await resolveAssistantConfig(this.store.get(), this.manager);
    if (!resolved.ok) {
      this.engineHost.stop();
      this.runningConfig = undefined;
      const { llm } = resolved;
      this.setEngineStatus(
        llm.status === "missing"
          ? { status: "missing-model", message: llm.message, choice: llm.choice }
          : { status: "no-model", message: "No reasoning model is installed yet: download one to start." },
      );
      return;
    }
    const json = JSON.stringify(resolved.config);
    if (json === this.runningConfig && this.engineStatus.status !== "failed") return;
    this.runningConfig = json;
    this.engineHost.start(resolved.config);
  }

  snapshot(): AppSnapshot {
    const notice = this.settings?.notice;
    return {
      engine: this.engineStatus,
      settings: this.store.get(),
      ...(notice ? { notice } : {}),
      state: this.sessionState,
      history: [...this.engineHost.conversation],
    };
  }

  /** Microphone frames from the window. */
  audio(samples: Float32Array): void {
    this.engineHost.send({ type: "audio", samples });
  }

  private requireEngine(): void {
    const engine = this.engineStatus;
    if (engine.status === "ready") return;
    throw new DuetError(
      "engine-busy",
      engine.status === "no-model" || engine.status === "missing-model"
        ? engine.message
        : `The model is not ready yet: ${engine.message}`,
    );
  }

  /** The handler of every request the window can make (src/shared/ipc/contract.ts). */
  readonly handlers: RequestHandlers = {
    "app:snapshot": () => this.snapshot(),
    "session:push-to-talk": ({ down }) => {
      this.requireEngine();
      this.engineHost.send({ type: "push-to-talk", down });
      return null;
    },
    "session:send-text": ({ text }) => {
      this.requireEngine();
      this.engineHost.send({ type: "text", text });
      return null;
    },
    "session:stop": () => {
      this.engineHost.send({ type: "stop" });
      return null;
    },
    "playback:report": ({ chunkId, event }) => {
      this.engineHost.send({ type: "playback", chunkId, event });
      return null;
    },
    "settings:update": ({ patch }) => this.store.update(patch),
    "models:list": async () => ({ models: await this.manager.list({ found: true }), catalog: catalog() }),
    "models:download": ({ id }) => {
      this.download(id);
      return null;
    },
    "models:cancel": ({ id }) => {
      this.downloads.get(id)?.abort();
      return null;
    },
    "models:import": async ({ path }) => {
      const status = await this.manager.import(path);
      await this.adopt(status);
      return status;
    },
    "models:remove": async ({ id }) => {
      await this.manager.remove(id);
      this.reconfigure();
      return null;
    },
    "models:recommend": async () => {
      const hardware = await this.hardware.detect();
      return { hardware, recommendation: recommendSetup(hardware) };
    },
    "voice:preview": ({ text }) => {
      this.requireEngine();
      this.engineHost.send({ type: "preview", text });
      return null;
    },
    "app:open-logs-folder": () => {
      if (!this.options.openLogsFolder)
        throw new DuetError("invalid-argument", "Opening the logs folder works in the desktop app.");
      return this.options.openLogsFolder();
    },
  };

  /** A newly installed model becomes the choice of its kind when none was chosen yet. */
  private async adopt(status: ModelStatus): Promise<void> {
    const key = CHOICE_KEY[status.kind];
    if (key && this.store.get().models[key] === null)
      await this.store.update({ models: { [key]: status.id } });
    else this.reconfigure();
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
    void this.manager
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
      .then(async (status) => {
        this.options.emit({ type: "download", id, done: true });
        await this.adopt(status);
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
