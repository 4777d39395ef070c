import type { AppEvent, AudioChunk, EngineStatus } from "../ipc/contract.js";
import type { GpuChoice } from "../../engine/llama/types.js";

/** What the engine process needs to start: resolved file paths and the user's options. */
export interface WorkerConfig {
  llmPath: string;
  sttPath: string | null;
  voicePath: string | null;
  /** The Silero voice-activity model; energy detection when it is missing. */
  vadPath: string;
  gpu: GpuChoice;
  threads: number | null;
  contextSize: number | null;
  gpuLayers: number | "auto" | "max";
  layout: "paper" | "compact";
  mode: "async" | "thinking" | "nothinking";
  probeInterval: number;
  safety: boolean;
  maxSteps: number;
  language: string;
  vocabularyPrompt: string;
  rate: number;
}

export interface HistoryItem {
  user: string;
  answer: string;
}

export type ToWorker =
  | { type: "start"; config: WorkerConfig; history: HistoryItem[] }
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
