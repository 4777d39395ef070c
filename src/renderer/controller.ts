import type {
  DuetBridge,
  RequestArgs,
  RequestChannel,
  RequestResult,
  SettingsPatch,
} from "../shared/ipc/contract.js";
import { AnswerPlayer } from "./audio/player.js";
import { startCapture, type Capture } from "./audio/capture.js";
import { createEventBatcher, useDuet } from "./store/store.js";

/**
 * Connects the window to Duet: events into the store (batched per frame), the answer's audio to
 * the player, the microphone to the engine while push-to-talk is held.
 */
export class DuetController {
  private capture: Capture | undefined;
  private capturing: Promise<void> | undefined;
  private readonly player: AnswerPlayer;
  private held = false;

  constructor(private readonly bridge: DuetBridge) {
    this.player = new AnswerPlayer(
      (chunkId, event) => void this.request("playback:report", { chunkId, event }).catch(() => undefined),
      (playing) => useDuet.getState().setPlaying(playing),
    );
  }

  async start(): Promise<void> {
    const store = useDuet.getState();
    const batch = createEventBatcher((events) => useDuet.getState().apply(events));
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
      await this.refreshModels();
    } catch (error) {
      store.toast("app", (error as Error).message);
    }
  }

  request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>> {
    return this.bridge.request(channel, args);
  }

  private async guarded(stage: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      useDuet.getState().toast(stage, (error as Error).message);
    }
  }

  private async beginListening(): Promise<void> {
    // Barge-in: the answer stops before anything else happens.
    this.player.stop();
    if (this.capture || this.capturing) return;
    this.capturing = (async () => {
      try {
        this.capture = await startCapture(
          (samples) => this.bridge.sendAudio(samples),
          (level) => useDuet.getState().setMicLevel(level),
        );
        if (!this.held) this.stopCapture();
      } catch (error) {
        useDuet.getState().toast("microphone", (error as Error).message);
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
    this.stopCapture();
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
    await this.guarded("settings", async () => {
      await this.request("settings:update", { patch });
    });
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

  download(id: string): Promise<void> {
    return this.guarded("download", () => this.request("models:download", { id }));
  }

  cancelDownload(id: string): Promise<void> {
    return this.guarded("download", () => this.request("models:cancel", { id }));
  }

  async importModel(path: string): Promise<void> {
    await this.guarded("models", () => this.request("models:import", { path }));
    await this.refreshModels();
  }

  async removeModel(id: string): Promise<void> {
    await this.guarded("models", () => this.request("models:remove", { id }));
    await this.refreshModels();
  }

  openLogsFolder(): Promise<void> {
    return this.guarded("logs", () => this.request("app:open-logs-folder", {}));
  }

  previewVoice(): Promise<void> {
    this.player.stop();
    return this.guarded("voice", () =>
      this.request("voice:preview", { text: "Hello! This is how I will sound when I answer you." }),
    );
  }
}
