/**
 * The one contract between the window (through the preload bridge, or the dev harness's socket)
 * and the main process: each request's argument schema (the main process validates every payload
 * against it), its reply type, the events and audio the window is sent, and the port that carries
 * them. The window imports this folder and nothing else outside its own code.
 * docs/architecture.md, "Adding a request", lists the steps.
 */
import { z } from "zod";
import type { SessionEvent, SessionState } from "../session.js";
import { settingsPatchSchema, type Settings, type SettingsNotice } from "../settings.js";
import type {
  CatalogEntry,
  DownloadProgress,
  HardwareInfo,
  ModelStatus,
  Recommendation,
  SpeedEstimate,
} from "../models.js";
import type { ConversationSummary, OpenConversation } from "../conversations.js";

export type { CatalogEntry, DownloadProgress, ModelStatus, Recommendation, HardwareInfo, SpeedEstimate };
export type DownloadPhase = DownloadProgress["phase"];
export type { Settings, SettingsNotice, SettingsPatch } from "../settings.js";
export type { ErrorStage, SessionEvent, SessionState, SpokenChunk, VoiceTurnMetrics } from "../session.js";
export type { TurnEvent, TurnMetrics } from "../turnEvents.js";
export type { ConversationSummary, OpenConversation } from "../conversations.js";

const none = z.object({}).strict();
const modelId = z.string().min(1).max(4096);
const conversationId = z.string().regex(/^[a-z0-9-]{1,64}$/, "That conversation does not exist.");

/** Every request the window can make: channel -> the schema of its argument. */
/** What the window's player reports about a spoken chunk. */
const playbackEvent = z.enum(["started", "ended", "stopped"]);
export type PlaybackEvent = z.infer<typeof playbackEvent>;

export const requestSchemas = {
  "app:snapshot": none,
  "session:push-to-talk": z.object({ down: z.boolean() }).strict(),
  "session:send-text": z
    .object({
      text: z
        .string()
        .min(1, "The message is empty.")
        .max(200_000, "The message is too long to send (over 200,000 characters); shorten it."),
    })
    .strict(),
  "session:stop": none,
  "playback:report": z.object({ chunkId: z.number().int().min(0), event: playbackEvent }).strict(),
  "settings:update": z.object({ patch: settingsPatchSchema }).strict(),
  "models:list": none,
  "models:download": z.object({ id: modelId }).strict(),
  "models:cancel": z.object({ id: modelId }).strict(),
  "models:import": z.object({ path: z.string().min(1).max(4096) }).strict(),
  "models:remove": z.object({ id: modelId }).strict(),
  "models:recommend": none,
  "voice:preview": z.object({ text: z.string().min(1).max(500) }).strict(),
  /** Opens the folder with Duet's log files (main and engine) in the file manager. */
  "app:open-logs-folder": none,
  /** Starts the engine again after a failure, or checks again for a missing model. */
  "engine:retry": none,
  /** Asks for a model file with the system's file dialog (the desktop app only). */
  "models:choose-file": none,
  "conversations:list": none,
  /** Starts a new, empty conversation (the current one stays saved). */
  "conversations:new": none,
  "conversations:open": z.object({ id: conversationId }).strict(),
  "conversations:rename": z
    .object({
      id: conversationId,
      title: z
        .string()
        .trim()
        .min(1, "A conversation needs a name.")
        .max(200, "The name is too long (over 200 characters)."),
    })
    .strict(),
  "conversations:delete": z.object({ id: conversationId }).strict(),
  /** Writes the conversation as Markdown, with or without the thinking. */
  "conversations:export": z.object({ id: conversationId, thinking: z.boolean() }).strict(),
} satisfies Record<string, z.ZodType>;

export type RequestChannel = keyof typeof requestSchemas;
export type RequestArgs<C extends RequestChannel> = z.infer<(typeof requestSchemas)[C]>;

/** What each request answers (produced by the main process, so typed rather than parsed). */
export interface RequestResults {
  "app:snapshot": AppSnapshot;
  "session:push-to-talk": null;
  "session:send-text": null;
  "session:stop": null;
  "playback:report": null;
  "settings:update": Settings;
  "models:list": { models: ModelStatus[]; catalog: readonly CatalogEntry[] };
  "models:download": null;
  "models:cancel": null;
  "models:import": ModelStatus;
  "models:remove": null;
  "models:recommend": { hardware: HardwareInfo; recommendation: Recommendation };
  "voice:preview": null;
  "app:open-logs-folder": { path: string };
  "engine:retry": null;
  /** null: the dialog was cancelled. */
  "models:choose-file": { path: string | null };
  "conversations:list": { conversations: ConversationSummary[]; currentId: string };
  "conversations:new": OpenConversation;
  "conversations:open": OpenConversation;
  "conversations:rename": null;
  "conversations:delete": null;
  /** Where the file was written; null: the save dialog was cancelled. */
  "conversations:export": { path: string | null };
}
export type RequestResult<C extends RequestChannel> = RequestResults[C];

/** Whether `channel` names a request (own keys only: "constructor" or "__proto__" are not requests). */
export function isRequestChannel(channel: unknown): channel is RequestChannel {
  return typeof channel === "string" && Object.hasOwn(requestSchemas, channel);
}

/** A rejected request as the window sees it. */
export interface RequestError {
  code: string;
  message: string;
}

/** Where the engine process is. */
export type EngineStatus =
  | { status: "no-model"; message: string }
  | { status: "missing-model"; message: string; choice: string }
  | { status: "loading"; message: string }
  | {
      status: "ready";
      /** The model file in use, and where it runs ("CPU", or the GPU backend and device). */
      model: string;
      modelPath: string;
      runsOn: string;
      voice: string;
      speechToText: string | null;
      notices: string[];
    }
  | { status: "crashed"; message: string; restartInMs: number }
  | { status: "failed"; message: string };

/** Everything the window is told, in order. Audio arrives separately (see AudioChunk). */
export type AppEvent =
  | SessionEvent
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
  | { type: "audio-stop" }
  /** The list of saved conversations changed (a turn was saved, one was renamed...). */
  | { type: "conversations"; conversations: ConversationSummary[]; currentId: string }
  /** Another conversation is now the current one (opened, new, or the current one was deleted). */
  | { type: "conversation"; conversation: OpenConversation }
  /** Something worth saying that is not an error (an export was saved, a file was set aside). */
  | { type: "notice"; message: string };

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
  /** The conversation on screen, with every turn so far. */
  conversation: OpenConversation;
  conversations: ConversationSummary[];
  /** Saved conversations that could not be read, and where they were kept. */
  conversationNotices: string[];
}

/** What the preload exposes as `window.duet`; the dev harness's socket bridge implements the same. */
export interface DuetBridge {
  request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>>;
  /** Microphone samples, 16 kHz mono, while push-to-talk is held. */
  sendAudio(samples: Float32Array): void;
  onEvent(listener: (event: AppEvent) => void): () => void;
  onAudio(listener: (chunk: AudioChunk) => void): () => void;
  /**
   * The path of a file dropped on the window (Electron's webUtils.getPathForFile); absent where
   * the page cannot know it (a browser, through the dev harness).
   */
  pathForFile?(file: File): string;
}
