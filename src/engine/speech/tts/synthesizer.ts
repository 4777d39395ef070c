import type { MonoAudio } from "../pcm.js";

export interface SynthesizedSpeech extends MonoAudio {
  durationMs: number;
  /** Wall time the synthesis took. */
  synthMs: number;
}

export interface SynthesisOptions {
  /** Cancels within 100 ms (the process is killed or generation told to stop). */
  signal?: AbortSignal;
  /** Speaking rate multiplier. Default 1. */
  rate?: number;
}

/** Text in, PCM out with its duration. */
export interface SpeechSynthesizer {
  readonly name: string;
  synthesize(text: string, options?: SynthesisOptions): Promise<SynthesizedSpeech>;
  dispose(): Promise<void>;
}
