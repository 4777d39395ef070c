import type {
  DuetBridge,
  RequestArgs,
  RequestChannel,
  RequestResult,
  SettingsPatch,
} from "../shared/ipc/contract.js";
import { AnswerPlayer } from "./audio/player.js";
import { startCapture, type Capture } from "./audio/capture.js";
import { modelFileFromDrop } from "./dropModel.js";
import { createEventBatcher, useDuet } from "./store/store.js";

/**
 * Connects the window to Duet: events into the store (batched per frame), the answer's audio to
 * the player, the microphone to the engine while push-to-talk is held (or all the time in
 * hands-free mode, unless muted).
 */
export class DuetController {
  private capture: Capture | undefined;
  private capturing: Promise<void> | undefined;
  private readonly player: AnswerPlayer;
  private held = false;
  /** Hands-free capture is wanted (on, the engine ready, not muted). */
  private openMic = false;

  constructor(private readonly bridge: DuetBridge) {
    this.player = new AnswerPlayer(
      (chunkId, event) => void this.request("playback:report", { chunkId, event }).catch(() => undefined),
      (playing) => useDuet.getState().setPlaying(playing),
    );
  }

  async start(): Promise<void> {
    const store = useDuet.getState();
    const batch = createEventBatcher((events) => {
      useDuet.getState().apply(events);
      this.syncHandsFree();
    });
    this.bridge.onEvent((event) => {
      if (event.type === "audio-stop") this.player.stop();
      // The global hotkey already told the engine; the window only has to listen (or stop listening).
      if (event.type === "hotkey") void (event.down ? this.beginListening() : this.endListening());
      if (event.type === "download" && (event.done || event.error || event.cancelled))
        void this.refreshModels();
      batch(event);
    });
    this.bridge.onAudio((chunk) => this.player.play(chunk));
    try {
      store.loadSnapshot(await this.request("app:snapshot", {}));
      this.syncHandsFree();
      await this.refreshModels();
    } catch (error) {
      store.toast("app", (error as Error).message);
    }
  }

  request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
    return this.bridge.request(channel, args);
  }

  private async guarded<T>(stage: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      useDuet.getState().toast(stage, (error as Error).message);
      return undefined;
    }
  }

  private async beginListening(): Promise<void> {
    // Barge-in: the answer stops before anything else happens (in hands-free mode the engine decides).
    if (!this.openMic) this.player.stop();
    if (this.capture || this.capturing) return;
    this.capturing = (async () => {
      try {
        this.capture = await startCapture(
          (samples) => this.bridge.sendAudio(samples),
          (level) => useDuet.getState().setMicLevel(level),
        );
        if (!this.held && !this.openMic) this.stopCapture();
      } catch (error) {
        useDuet.getState().toast("microphone", (error as Error).message);
        // A microphone that cannot start is not retried at every event.
        if (this.openMic) useDuet.getState().setMuted(true);
      } finally {
        this.capturing = undefined;
      }
    })();
    await this.capturing;
  }

  private stopCapture(): void {
    this.capture?.stop();
    this.capture = undefined;
  }

  private async endListening(): Promise<void> {
    await this.capturing;
    if (!this.openMic) this.stopCapture();
  }

  /**
   * Hands-free: the microphone is open while the setting is on, the engine is ready and the user
   * has not muted it. Called after every batch of events and every change of the mute button.
   */
  private syncHandsFree(): void {
    const s = useDuet.getState();
    const wanted = (s.settings?.speech.handsFree ?? false) && s.engine.status === "ready" && !s.muted;
    if (wanted === this.openMic) return;
    this.openMic = wanted;
    if (wanted) void this.beginListening();
    else if (!this.held) void this.endListening();
  }

  /** Hands-free: mute or unmute the microphone. Muting ends an utterance under way. */
  setMuted(muted: boolean): void {
    useDuet.getState().setMuted(muted);
    if (muted && useDuet.getState().state === "listening")
      void this.request("session:push-to-talk", { down: false }).catch(() => undefined);
    this.syncHandsFree();
  }

  /** The on-screen push-to-talk button (or its keyboard equivalent). */
  async pushToTalk(down: boolean): Promise<void> {
    if (down === this.held) return;
    this.held = down;
    if (down) {
      this.player.stop();
      await this.guarded("engine", () => this.request("session:push-to-talk", { down: true }));
      await this.beginListening();
    } else {
      await this.endListening();
      await this.guarded("engine", () => this.request("session:push-to-talk", { down: false }));
    }
  }

  async sendText(text: string): Promise<void> {
    const trimmed = text.trim();
    if (!trimmed) return;
    this.player.stop();
    useDuet.getState().expectUserText(trimmed);
    await this.guarded("engine", () => this.request("session:send-text", { text: trimmed }));
  }

  async stop(): Promise<void> {
    this.player.stop();
    await this.guarded("engine", () => this.request("session:stop", {}));
  }

  async updateSettings(patch: SettingsPatch): Promise<void> {
    await this.guarded("settings", () => this.request("settings:update", { patch }));
  }

  async refreshModels(): Promise<void> {
    await this.guarded("models", async () => {
      const { models, catalog } = await this.request("models:list", {});
      useDuet.getState().setModels(models, catalog);
    });
  }

  async recommend(): Promise<void> {
    await this.guarded("models", async () =>
      useDuet.getState().setRecommendation(await this.request("models:recommend", {})),
    );
  }

  async download(id: string): Promise<void> {
    const store = useDuet.getState();
    // Said at once, before the main process answers: the button did something.
    store.startingDownload(id, store.catalog.find((e) => e.id === id)?.sizeBytes ?? null);
    await this.guarded("download", () => this.request("models:download", { id }));
  }

  cancelDownload(id: string): Promise<unknown> {
    return this.guarded("download", () => this.request("models:cancel", { id }));
  }

  async importModel(path: string): Promise<boolean> {
    const store = useDuet.getState();
    store.setImportError(null);
    try {
      await this.request("models:import", { path });
      await this.refreshModels();
      return true;
    } catch (error) {
      store.setImportError((error as Error).message);
      return false;
    }
  }

  /** The system's file dialog (the desktop app), then the import. */
  async chooseModelFile(): Promise<void> {
    const store = useDuet.getState();
    store.setImportError(null);
    try {
      const { path } = await this.request("models:choose-file", {});
      if (path) await this.importModel(path);
    } catch (error) {
      store.setImportError((error as Error).message);
    }
  }

  /** A file dropped on the window: imported when it is a model and its path is known. */
  async dropFiles(files: readonly File[]): Promise<void> {
    const picked = modelFileFromDrop(files, this.bridge.pathForFile?.bind(this.bridge));
    const store = useDuet.getState();
    if ("error" in picked) {
      store.toast("models", picked.error);
      return;
    }
    if (await this.importModel(picked.path))
      store.toast("models", `${picked.name} was added to your models.`, { kind: "info" });
    else store.toast("models", useDuet.getState().importError ?? "The file could not be used.");
  }

  async removeModel(id: string): Promise<void> {
    await this.guarded("models", () => this.request("models:remove", { id }));
    await this.refreshModels();
  }

  openLogsFolder(): Promise<unknown> {
    return this.guarded("logs", () => this.request("app:open-logs-folder", {}));
  }

  retryEngine(): Promise<unknown> {
    return this.guarded("engine", () => this.request("engine:retry", {}));
  }

  previewVoice(): Promise<unknown> {
    this.player.stop();
    return this.guarded("voice", () =>
      this.request("voice:preview", { text: "Hello! This is how I will sound when I answer you." }),
    );
  }

  async newConversation(): Promise<void> {
    this.player.stop();
    const opened = await this.guarded("conversations", () => this.request("conversations:new", {}));
    if (opened) useDuet.getState().showConversation(opened);
  }

  async openConversation(id: string): Promise<void> {
    if (id === useDuet.getState().conversationId) {
      useDuet.getState().setView("conversation");
      return;
    }
    this.player.stop();
    const opened = await this.guarded("conversations", () => this.request("conversations:open", { id }));
    if (opened) useDuet.getState().showConversation(opened);
  }

  renameConversation(id: string, title: string): Promise<unknown> {
    return this.guarded("conversations", () => this.request("conversations:rename", { id, title }));
  }

  deleteConversation(id: string): Promise<unknown> {
    return this.guarded("conversations", () => this.request("conversations:delete", { id }));
  }

  async exportConversation(id: string, thinking: boolean): Promise<void> {
    const result = await this.guarded("conversations", () =>
      this.request("conversations:export", { id, thinking }),
    );
    if (result?.path)
      useDuet.getState().toast("conversations", `Exported to ${result.path}`, { kind: "info" });
  }
}
