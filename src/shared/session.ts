/**
 * What a voice session reports: its state, transcripts, the turn's events, the spoken chunks and
 * the per-turn metrics. The engine process emits them; the window and `npm run talk` show them.
 */
import type { EndReason, TurnEvent } from "./turnEvents.js";

export interface SpokenChunk {
  id: number;
  text: string;
  /** What the voice said (markdown removed, math in words). */
  spoken: string;
  startToken: number;
  endToken: number;
  /** When its last token was written (ms from the turn's start). */
  writtenMs: number;
  /** Synthesis wall time, and audio length. */
  synthMs: number | null;
  durationMs: number | null;
  /** When the audio became available, started and finished playing (ms from the turn's start). */
  readyMs: number | null;
  playStartMs: number | null;
  playEndMs: number | null;
  error?: string;
}

export type SessionState = "idle" | "listening" | "thinking" | "speaking";
/** Where an error happened, for the window to title it in words. */
export type ErrorStage = "stt" | "engine" | "tts" | "audio" | "models" | "settings" | "hardware";

export interface VoiceTurnMetrics {
  /** From releasing push-to-talk (or sending text) to the first sound. */
  releaseToFirstAudioMs: number | null;
  /** The final speech-to-text decode. */
  sttMs: number | null;
  ttftMs: number | null;
  stft: number | null;
  stepsDelay: number | null;
  /** docs/method.md (Metrics), with the real chunk durations: ready = written + synthesis time. Seconds. */
  totalDelay: number;
  adjustedDelay: number;
  /** The silence the user really heard before and between chunks, from the playback timeline. Seconds. */
  heardSilence: number;
  answerTokensPerSecond: number;
  stepsPerSecond: number;
  thinkerTokens: number;
  writerTokens: number;
  heardTokens: number;
  chunks: number;
  /** Thoughts the writer had not seen yet at its decodes (see TurnMetrics). */
  thoughtLagMean: number;
  thoughtLagMax: number;
  endReason: EndReason;
}

export type SessionEvent =
  | { type: "state"; state: SessionState }
  | { type: "transcript"; committed: string; tentative: string; final: boolean }
  | { type: "turn"; event: TurnEvent }
  | { type: "chunk"; chunk: SpokenChunk }
  /** The voice started saying this chunk (the "chunk" event follows once it was heard). */
  | { type: "speaking"; chunk: SpokenChunk }
  | { type: "metrics"; metrics: VoiceTurnMetrics }
  | { type: "error"; stage: ErrorStage; message: string; code?: string };
