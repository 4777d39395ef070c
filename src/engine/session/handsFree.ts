import { STT_SAMPLE_RATE } from "../speech/pcm.js";
import type { SpeechStream } from "../speech/vad.js";

export interface HandsFreeListenerOptions {
  /** Live speech detection (Silero, or loudness when its model is missing). */
  stream: SpeechStream;
  /** This much silence after speech ends the user's turn. */
  pauseMs: number;
  /** Speech must last this long to start a turn (a cough or a door does not). Default 200 ms. */
  minSpeechMs?: number;
  /** Audio kept from just before speech was detected, so the first word is not cut. Default 500 ms. */
  preRollMs?: number;
  sampleRate?: number;
}

/** What the voice session should do with the microphone audio it was given. */
export type HandsFreeAction =
  /** The user started speaking: listen, beginning with this audio (from before the detection). */
  | { type: "start"; audio: Float32Array[] }
  /** More of the user's speech. */
  | { type: "audio"; samples: Float32Array }
  /** The user paused long enough: their turn is over. */
  | { type: "end" };

/**
 * Hands-free turn taking: decides from the microphone's audio alone when the user starts and stops
 * speaking. Time is counted in samples, so the same audio always gives the same turns.
 */
export class HandsFreeListener {
  private readonly rate: number;
  private speaking = false;
  /** Audio from before the detection (the pre-roll), while not speaking. */
  private recent: Float32Array[] = [];
  private recentSamples = 0;
  private speechSamples = 0;
  private silenceSamples = 0;
  private pauseSamples: number;

  constructor(private readonly options: HandsFreeListenerOptions) {
    this.rate = options.sampleRate ?? STT_SAMPLE_RATE;
    this.pauseSamples = this.samples(options.pauseMs);
  }

  private samples(ms: number): number {
    return Math.round((ms * this.rate) / 1000);
  }

  /** Whether the user is speaking (a turn started and has not paused long enough yet). */
  get inSpeech(): boolean {
    return this.speaking;
  }

  set pauseMs(ms: number) {
    this.pauseSamples = this.samples(ms);
  }

  /**
   * Takes the next microphone frame. `mayStart`: whether a new turn may begin now (not while the
   * answer is audible and talking over it is off); a turn already under way always goes on.
   */
  push(samples: Float32Array, mayStart: boolean): HandsFreeAction[] {
    const voice = this.options.stream.accept(samples);
    if (this.speaking) {
      this.silenceSamples = voice ? 0 : this.silenceSamples + samples.length;
      if (this.silenceSamples >= this.pauseSamples) {
        this.reset();
        return [{ type: "audio", samples }, { type: "end" }];
      }
      return [{ type: "audio", samples }];
    }
    this.keepRecent(samples);
    this.speechSamples = voice ? this.speechSamples + samples.length : 0;
    if (!mayStart || this.speechSamples < this.samples(this.options.minSpeechMs ?? 200)) return [];
    this.speaking = true;
    this.silenceSamples = 0;
    const audio = this.recent;
    this.recent = [];
    this.recentSamples = 0;
    return [{ type: "start", audio }];
  }

  private keepRecent(samples: Float32Array): void {
    this.recent.push(samples.slice());
    this.recentSamples += samples.length;
    const keep = this.samples(this.options.preRollMs ?? 500);
    while (this.recent.length > 1 && this.recentSamples - this.recent[0]!.length >= keep) {
      this.recentSamples -= this.recent.shift()!.length;
    }
  }

  /** Forgets the utterance under way (push-to-talk took over, the session stopped). */
  reset(): void {
    this.speaking = false;
    this.speechSamples = 0;
    this.silenceSamples = 0;
    this.recent = [];
    this.recentSamples = 0;
    this.options.stream.reset();
  }

  dispose(): void {
    this.options.stream.dispose();
  }
}
