/**
 * The one IPC contract between the window (renderer, through the preload bridge) and the main
 * process. Types only: the renderer and the preload import it with `import type`; the main
 * process validates every payload against the schemas in schemas.ts.
 */
import type { CatalogEntry } from "../../engine/models/catalog.js";
import type { DownloadProgress } from "../../engine/models/download.js";
import type { ModelStatus } from "../../engine/models/manager.js";
import type { Recommendation } from "../../engine/models/recommend.js";
import type { TurnEvent } from "../../engine/reasoning/events.js";
import type { SessionState, VoiceTurnMetrics } from "../../engine/session/voiceSession.js";
import type { Settings } from "../../engine/settings/schema.js";
import type { DeepPartial, SettingsNotice } from "../../engine/settings/store.js";
import type { HardwareInfo } from "../../engine/llama/hardware.js";

export type {
  Settings,
  SettingsNotice,
  ModelStatus,
  TurnEvent,
  SessionState,
  VoiceTurnMetrics,
  HardwareInfo,
  Recommendation,
  CatalogEntry,
};
export type SettingsPatch = DeepPartial<Settings>;
export type DownloadPhase = DownloadProgress["phase"];

/** Where the engine process is. */
export type EngineStatus =
  | { status: "no-model"; message: string }
  | { status: "loading"; message: string }
  | { status: "ready"; model: string; voice: string; speechToText: string | null; notices: string[] }
  | { status: "crashed"; message: string; restartInMs: number }
  | { status: "failed"; message: string };

export interface SpokenChunkInfo {
  id: number;
  text: string;
  spoken: string;
  startToken: number;
  endToken: number;
  durationMs: number | null;
  playStartMs: number | null;
  error?: string;
}

/** Everything the window is told, in order. Audio arrives separately (see AudioChunk). */
export type AppEvent =
  | { type: "state"; state: SessionState }
  | { type: "transcript"; committed: string; tentative: string; final: boolean }
  | { type: "turn"; event: TurnEvent }
  | { type: "chunk"; chunk: SpokenChunkInfo }
  | { type: "metrics"; metrics: VoiceTurnMetrics }
  | { type: "error"; stage: string; message: string }
  | { type: "engine"; engine: EngineStatus }
  | {
      type: "download";
      id: string;
      progress?: DownloadProgress;
      done?: boolean;
      error?: string;
      /** The user cancelled: not a failure; what was downloaded is kept. */
      cancelled?: boolean;
    }
  | { type: "settings"; settings: Settings; notice?: SettingsNotice }
  | { type: "hotkey"; down: boolean }
  | { type: "audio-stop" };

/** A piece of the spoken answer for the window to play. */
export interface AudioChunk {
  chunkId: number;
  sampleRate: number;
  samples: Float32Array;
}

export interface AppSnapshot {
  engine: EngineStatus;
  settings: Settings;
  notice?: SettingsNotice;
  state: SessionState;
  history: Array<{ user: string; answer: string }>;
}

/** Requests from the window: channel -> argument and result. */
export interface RequestMap {
  "app:snapshot": { args: Record<string, never>; result: AppSnapshot };
  "session:push-to-talk": { args: { down: boolean }; result: null };
  "session:send-text": { args: { text: string }; result: null };
  "session:stop": { args: Record<string, never>; result: null };
  "playback:report": { args: { chunkId: number; event: "started" | "ended" | "stopped" }; result: null };
  "settings:update": { args: { patch: SettingsPatch }; result: Settings };
  "models:list": {
    args: Record<string, never>;
    result: { models: ModelStatus[]; catalog: readonly CatalogEntry[] };
  };
  "models:download": { args: { id: string }; result: null };
  "models:cancel": { args: { id: string }; result: null };
  "models:import": { args: { path: string }; result: ModelStatus };
  "models:remove": { args: { id: string }; result: null };
  "models:recommend": {
    args: Record<string, never>;
    result: { hardware: HardwareInfo; recommendation: Recommendation };
  };
  "voice:preview": { args: { text: string }; result: null };
}

export type RequestChannel = keyof RequestMap;
export type RequestArgs<C extends RequestChannel> = RequestMap[C]["args"];
export type RequestResult<C extends RequestChannel> = RequestMap[C]["result"];

/** A rejected request as the window sees it. */
export interface RequestError {
  code: string;
  message: string;
}

/** What the preload exposes as `window.duet`; the dev harness implements the same over a socket. */
export interface DuetBridge {
  request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>>;
  /** Microphone samples, 16 kHz mono, while push-to-talk is held. */
  sendAudio(samples: Float32Array): void;
  onEvent(listener: (event: AppEvent) => void): () => void;
  onAudio(listener: (chunk: AudioChunk) => void): () => void;
}
