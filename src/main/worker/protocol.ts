/**
 * Messages between the main process and the engine process (a utility process under Electron, a
 * forked Node process under the harness). The start message carries an AssistantConfig, which the
 * engine process validates before use.
 */
import type { AssistantConfig } from "../../engine/session/config.js";
import type { AppEvent, AudioChunk, EngineStatus, PlaybackEvent } from "../../shared/ipc/contract.js";

export interface HistoryItem {
  user: string;
  answer: string;
}

/** The hands-free settings, which the voice session applies without restarting the engine. */
export type HandsFreeOptions = Pick<
  AssistantConfig["speech"],
  "handsFree" | "pauseMs" | "interruptBySpeaking"
>;

/**
 * Every message that concerns one conversation names it (`conversation`), so that what a turn
 * of the previous conversation reports after a switch is never taken for the new one's.
 */
export type ToWorker =
  | { type: "start"; config: AssistantConfig; history: HistoryItem[]; conversation: string }
  /** Stop whatever runs and continue another conversation (its history) without reloading the model. */
  | { type: "restore"; history: HistoryItem[]; conversation: string }
  | { type: "session-options"; handsFree: HandsFreeOptions }
  | { type: "push-to-talk"; down: boolean }
  | { type: "text"; text: string }
  | { type: "stop" }
  | { type: "audio"; samples: Float32Array }
  | { type: "playback"; chunkId: number; event: PlaybackEvent }
  | { type: "preview"; text: string };

export type FromWorker =
  | { type: "status"; engine: EngineStatus }
  | { type: "event"; event: AppEvent }
  | { type: "audio"; chunk: AudioChunk }
  /** The engine's record of the conversation: after every turn, after a start and after a restore. */
  | { type: "history"; history: HistoryItem[]; conversation: string };
