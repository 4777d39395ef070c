/**
 * What the main process owns, independent of Electron: the settings store, the models and their
 * downloads, the engine process and the hardware probe. The Electron entry and the dev harness
 * wire it to their own transports (docs/architecture.md).
 */
import { mkdir, stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { DuetError, isDuetError } from "../../engine/errors.js";
import { explainError } from "../../engine/fileErrors.js";
import { catalog, findCatalogEntry, type ModelKind } from "../../engine/models/catalog.js";
import type { DownloadOptions, DownloadProgress } from "../../engine/models/download.js";
import { ModelManager, type ModelStatus } from "../../engine/models/manager.js";
import { recommendSetup } from "../../engine/models/recommend.js";
import { resolveAssistantConfig } from "../../engine/session/config.js";
import { explainFileError } from "../../engine/fileErrors.js";
import { writeFileAtomic } from "../../engine/settings/settingsFile.js";
import { SettingsStore } from "../../engine/settings/store.js";
import type { AssistantConfig } from "../../engine/session/config.js";
import type {
  AppEvent,
  AppSnapshot,
  AudioChunk,
  EngineStatus,
  OpenConversation,
  SessionState,
  Settings,
  SettingsPatch,
} from "../../shared/ipc/contract.js";
import { ConversationKeeper } from "../conversations/keeper.js";
import { ConversationStore, type ConversationFileSystem } from "../conversations/store.js";
import type { RequestHandlers } from "../ipc/requests.js";
import type { ProbeReply } from "../worker/probeProtocol.js";
import type { HandsFreeOptions } from "../worker/protocol.js";
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
  /** The system's file dialogs (the desktop app). Without them a model is imported by its path,
   * and exports go to the data folder's `exports` folder. */
  dialogs?: AppHostDialogs;
  /** While no model can run, how often to look again (a file put back, a model copied in). Default 2 s. */
  recheckMs?: number;
  /** File operations for saved conversations (tests inject failures). */
  conversationFs?: ConversationFileSystem;
}

export interface AppHostDialogs {
  /** A model file the user picked; null when they cancelled. */
  chooseModelFile(): Promise<string | null>;
  /** Where to save an export (suggesting this name); null when they cancelled. */
  chooseExportFile(suggestedName: string): Promise<string | null>;
}

/** The settings the voice session applies without restarting the engine. */
const LIVE_SPEECH = ["handsFree", "pauseMs", "interruptBySpeaking"] as const;

function handsFreeOf(config: AssistantConfig): HandsFreeOptions {
  const { handsFree, pauseMs, interruptBySpeaking } = config.speech;
  return { handsFree, pauseMs, interruptBySpeaking };
}

/** The configuration with the live settings left out: a change here needs a new engine. */
function restartKey(config: AssistantConfig): string {
  const speech: Record<string, unknown> = { ...config.speech };
  for (const key of LIVE_SPEECH) delete speech[key];
  return JSON.stringify({ ...config, speech });
}

/** Session events that belong to a conversation's turns. */
const TURN_EVENTS = new Set<AppEvent["type"]>(["turn", "transcript", "chunk", "speaking", "metrics"]);

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
  /** The configuration the engine runs with (restartKey), to restart it only when that changes. */
  private runningConfig: string | undefined;
  /** The hands-free settings the running engine has (JSON). */
  private runningLive: string | undefined;
  private conversationStore: ConversationStore | undefined;
  private keeper: ConversationKeeper | undefined;
  /**
   * Set while the engine switches to another conversation: what the previous one's turn still
   * reports (it is being stopped) must not reach the new one.
   */
  private awaitingSwitch: string | null = null;
  private recheckTimer: NodeJS.Timeout | undefined;
  /** Engine (re)configurations run one after another. */
  private configuring: Promise<void> = Promise.resolve();

  constructor(private readonly options: AppHostOptions) {
    this.engineHost = new EngineHost({
      launcher: options.launcher,
      ...(options.restartDelaysMs ? { restartDelaysMs: options.restartDelaysMs } : {}),
      onStatus: (engine) => this.setEngineStatus(engine),
      onMessage: (message) => {
        if (message.type === "event") {
          const event = message.event;
          if (event.type === "state") this.sessionState = event.state;
          if (this.awaitingSwitch && TURN_EVENTS.has(event.type)) return;
          this.keeper?.record(event);
          this.options.emit(event);
        } else if (message.type === "audio") {
          if (!this.awaitingSwitch) this.options.emitAudio(message.chunk);
        } else if (message.type === "history" && message.conversation === this.keeper?.id) {
          if (this.awaitingSwitch === message.conversation) this.awaitingSwitch = null;
          this.keeper.recordHistory(message.history);
        }
      },
    });
    this.hardware = new HardwareProbe({ launcher: options.probeLauncher });
  }

  private setEngineStatus(engine: EngineStatus): void {
    const same = JSON.stringify(engine) === JSON.stringify(this.engineStatus);
    this.engineStatus = engine;
    this.watchForModel(engine.status === "missing-model" || engine.status === "no-model");
    if (engine.status !== "ready" && engine.status !== "loading") this.awaitingSwitch = null;
    if (same) return;
    const event: AppEvent = { type: "engine", engine };
    this.keeper?.record(event);
    this.options.emit(event);
    if (engine.status !== "ready") this.setState("idle");
  }

  /**
   * While no model can run, looks again every few seconds: a missing file put back, or a model
   * copied into the folder, starts the engine without the user doing anything.
   */
  private watchForModel(on: boolean): void {
    if (!on) {
      clearInterval(this.recheckTimer);
      this.recheckTimer = undefined;
      return;
    }
    if (this.recheckTimer) return;
    this.recheckTimer = setInterval(() => this.reconfigure(), this.options.recheckMs ?? 2000);
    this.recheckTimer.unref();
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
    const conversations = await ConversationStore.open(join(this.options.dataDir, "conversations"), {
      ...(this.options.conversationFs ? { fs: this.options.conversationFs } : {}),
    });
    this.conversationStore = conversations;
    this.keeper = new ConversationKeeper({ store: conversations, emit: this.options.emit });
    await this.keeper.openLatest();
    this.engineHost.switchConversation(this.keeper.id, this.keeper.history);
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
        this.setEngineStatus({ status: "failed", message: explainError(error) });
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
          : {
              status: "no-model",
              message:
                llm.unusable.length > 0
                  ? `No reasoning model Duet can run is installed: ${llm.unusable.join(" ")} Download one to start.`
                  : "No reasoning model is installed yet: download one to start.",
            },
      );
      return;
    }
    const key = restartKey(resolved.config);
    const live = JSON.stringify(handsFreeOf(resolved.config));
    if (key === this.runningConfig && this.engineStatus.status !== "failed") {
      if (live !== this.runningLive) {
        this.runningLive = live;
        this.engineHost.setHandsFree(handsFreeOf(resolved.config));
      }
      return;
    }
    this.runningConfig = key;
    this.runningLive = live;
    // The problem that kept the engine from running is over: say so before the engine does.
    this.setEngineStatus({ status: "loading", message: `Loading ${resolved.llm.name}…` });
    this.engineHost.start(resolved.config);
  }

  snapshot(): AppSnapshot {
    const notice = this.settings?.notice;
    return {
      engine: this.engineStatus,
      settings: this.store.get(),
      ...(notice ? { notice } : {}),
      state: this.sessionState,
      conversation: this.conversations.open(),
      conversations: this.conversationList.list(),
      conversationNotices: [...this.conversationList.notices],
    };
  }

  private get conversations(): ConversationKeeper {
    if (!this.keeper) throw new DuetError("engine-busy", "Duet is still starting; try again in a moment.");
    return this.keeper;
  }

  private get conversationList(): ConversationStore {
    if (!this.conversationStore)
      throw new DuetError("engine-busy", "Duet is still starting; try again in a moment.");
    return this.conversationStore;
  }

  /** Shows another conversation and has the engine continue it. */
  private showConversation(conversation: OpenConversation): OpenConversation {
    this.awaitingSwitch = this.engineHost.running ? conversation.id : null;
    this.engineHost.switchConversation(conversation.id, this.conversations.history);
    this.options.emit({ type: "conversation", conversation });
    return conversation;
  }

  /** A file name in the exports folder that is not taken yet. */
  private async freeExportPath(fileName: string): Promise<string> {
    const folder = join(this.options.dataDir, "exports");
    const stem = basename(fileName, extname(fileName));
    for (let n = 1; ; n++) {
      const path = join(folder, n === 1 ? fileName : `${stem} (${n}).md`);
      try {
        await stat(path);
      } catch {
        return path;
      }
    }
  }

  /** Saves what is not saved yet (before quitting). */
  async flush(): Promise<void> {
    await this.keeper?.flush();
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
      this.conversations.expectUserText(text.trim());
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
    "engine:retry": () => {
      this.engineHost.forgetCrashes();
      this.runningConfig = undefined;
      this.reconfigure();
      return null;
    },
    "models:choose-file": async () => {
      if (!this.options.dialogs)
        throw new DuetError(
          "invalid-argument",
          "Choosing a file with a dialog works in the desktop app; here, type the model file's path instead.",
        );
      return { path: await this.options.dialogs.chooseModelFile() };
    },
    "conversations:list": () => ({
      conversations: this.conversationList.list(),
      currentId: this.conversations.id,
    }),
    "conversations:new": async () => {
      this.engineHost.send({ type: "stop" });
      return this.showConversation(await this.conversations.startNew());
    },
    "conversations:open": async ({ id }) => {
      if (id === this.conversations.id) return this.conversations.open();
      if (!this.conversationList.has(id))
        throw new DuetError(
          "invalid-argument",
          "That conversation does not exist (it may have been deleted).",
        );
      this.engineHost.send({ type: "stop" });
      return this.showConversation(await this.conversations.switchTo(id));
    },
    "conversations:rename": async ({ id, title }) => {
      await this.conversations.rename(id, title);
      return null;
    },
    "conversations:delete": async ({ id }) => {
      if (id === this.conversations.id) this.engineHost.send({ type: "stop" });
      const opened = await this.conversations.delete(id);
      if (opened) this.showConversation(opened);
      return null;
    },
    "conversations:export": async ({ id, thinking }) => {
      const { text, fileName } = await this.conversations.markdown(id, thinking);
      const path = this.options.dialogs
        ? await this.options.dialogs.chooseExportFile(fileName)
        : await this.freeExportPath(fileName);
      if (path === null) return { path: null };
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFileAtomic(path, text);
      } catch (error) {
        throw new DuetError(
          "invalid-argument",
          `The conversation was not exported. ${explainFileError(error, path, "save")}`,
        );
      }
      return { path };
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
        else this.options.emit({ type: "download", id, error: explainError(error) });
      })
      .finally(() => this.downloads.delete(id));
  }

  dispose(): void {
    for (const controller of this.downloads.values()) controller.abort();
    this.watchForModel(false);
    this.keeper?.dispose();
    this.engineHost.stop();
  }
}
