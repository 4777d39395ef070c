/**
 * Messages between the main process and the engine process (a utility process under Electron, a
 * forked Node process under the harness). The start message carries an AssistantConfig, which the
 * engine process validates before use.
 */
import type { AssistantConfig } from "../../engine/session/config.js";
import type { AppEvent, AudioChunk, EngineStatus } from "../../shared/ipc/contract.js";

export interface HistoryItem {
  user: string;
  answer: string;
}

export type ToWorker =
  | { type: "start"; config: AssistantConfig; history: HistoryItem[] }
  | { type: "push-to-talk"; down: boolean }
  | { type: "text"; text: string }
  | { type: "stop" }
  | { type: "audio"; samples: Float32Array }
  | { type: "playback"; chunkId: number; event: "started" | "ended" | "stopped" }
  | { type: "preview"; text: string };

export type FromWorker =
  | { type: "status"; engine: EngineStatus }
  | { type: "event"; event: AppEvent }
  | { type: "audio"; chunk: AudioChunk }
  | { type: "history"; history: HistoryItem[] };
