import { isDuetError } from "../errors.js";
import { STT_SAMPLE_RATE, type MonoAudio } from "./pcm.js";
import type { SpeechRecognizer, Transcription } from "./stt.js";
import { trimToSpeech, type VoiceActivityDetector } from "./vad.js";

export interface PartialTranscript {
  /** Words two consecutive partials agreed on: safe to give the model. */
  committed: string;
  /** The rest of the latest partial (may still change). */
  tentative: string;
  /** Audio heard so far, ms. */
  audioMs: number;
  decodeMs: number;
}

export interface FinalTranscript {
  text: string;
  /** The final decode's time. */
  decodeMs: number;
  audioMs: number;
  /** No speech was found in the audio (nothing was sent to the recogniser). */
  silent: boolean;
}

export interface LiveTranscriberOptions {
  recognizer: SpeechRecognizer;
  vad: VoiceActivityDetector;
  language?: string;
  prompt?: string;
  /** Never re-decode more often than this. Default 600 ms. */
  minIntervalMs?: number;
  /** Wait for at least this much new audio between partials. Default 300 ms. */
  minNewAudioMs?: number;
  /** Partials decode at most the last this-many seconds (whisper's window). Default 30. */
  partialWindowSeconds?: number;
  /** Recording stops growing after this long (memory stays bounded). Default 10 minutes. */
  maxRecordingSeconds?: number;
  /** Per-call timeout. Default 20 s. */
  timeoutMs?: number;
  onPartial?: (partial: PartialTranscript) => void;
  /** Reported, never thrown: a failed partial does not end the recording. */
  onError?: (error: Error) => void;
}

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== "");

/** The longest run of leading words two partials share (the last word of a partial is never trusted). */
export function agreedPrefix(previous: string, current: string): string[] {
  const a = words(previous);
  const b = words(current);
  const out: string[] = [];
  const norm = (w: string) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, "");
  for (let i = 0; i < Math.min(a.length, b.length - 1); i++) {
    if (norm(a[i]!) !== norm(b[i]!)) break;
    out.push(b[i]!);
  }
  return out;
}

/**
 * Transcribes while push-to-talk is held: the growing buffer is re-decoded at an adaptive rate
 * (never faster than decoding takes), a word is committed once two consecutive partials agree on
 * it, and the final transcript is decoded on release. Silence never reaches the recogniser.
 */
export class LiveTranscriber {
  private readonly chunks: Float32Array[] = [];
  private length = 0;
  private readonly maxSamples: number;
  private closed = false;
  private loop: Promise<void> | undefined;
  private previous = "";
  private committed: string[] = [];
  /** Ends the partial loop's wait early once the recording is closed. */
  private wake: (() => void) | undefined;
  private lastDecodeMs = 0;
  private readonly controller = new AbortController();
  truncated = false;

  constructor(private readonly options: LiveTranscriberOptions) {
    this.maxSamples = (options.maxRecordingSeconds ?? 600) * STT_SAMPLE_RATE;
  }

  /** Adds captured 16 kHz mono samples. */
  push(samples: Float32Array): void {
    if (this.closed) return;
    const room = this.maxSamples - this.length;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = samples.length > room ? samples.slice(0, room) : samples.slice();
    this.chunks.push(part);
    this.length += part.length;
    if (!this.loop) this.loop = this.partialLoop();
  }

  get audioMs(): number {
    return (this.length * 1000) / STT_SAMPLE_RATE;
  }

  private audio(lastSeconds?: number): MonoAudio {
    const take =
      lastSeconds === undefined ? this.length : Math.min(this.length, lastSeconds * STT_SAMPLE_RATE);
    const samples = new Float32Array(take);
    let at = take;
    for (let i = this.chunks.length - 1; i >= 0 && at > 0; i--) {
      const chunk = this.chunks[i]!;
      const n = Math.min(chunk.length, at);
      samples.set(chunk.subarray(chunk.length - n), at - n);
      at -= n;
    }
    return { samples, sampleRate: STT_SAMPLE_RATE };
  }

  private async decode(audio: MonoAudio): Promise<Transcription | undefined> {
    const speech = trimToSpeech(audio, this.options.vad.spans(audio));
    if (!speech) return undefined;
    return this.options.recognizer.transcribe(speech, {
      ...(this.options.language ? { language: this.options.language } : {}),
      ...(this.options.prompt ? { prompt: this.options.prompt } : {}),
      timeoutMs: this.options.timeoutMs ?? 20_000,
      signal: this.controller.signal,
    });
  }

  private async partialLoop(): Promise<void> {
    const minInterval = this.options.minIntervalMs ?? 600;
    const minNew = ((this.options.minNewAudioMs ?? 300) * STT_SAMPLE_RATE) / 1000;
    let decodedUpTo = 0;
    while (!this.closed) {
      const interval = Math.max(minInterval, this.lastDecodeMs * 1.5);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        this.wake = () => {
          if (this.closed) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      if (this.closed) break;
      if (this.length - decodedUpTo < minNew) continue;
      decodedUpTo = this.length;
      const started = performance.now();
      try {
        const result = await this.decode(this.audio(this.options.partialWindowSeconds ?? 30));
        this.lastDecodeMs = performance.now() - started;
        if (this.closed || !result) continue;
        const agreed = agreedPrefix(this.previous, result.text);
        // Committed words only ever grow during the recording; the final transcript may revise them.
        if (agreed.length > this.committed.length) this.committed = agreed;
        this.previous = result.text;
        const all = words(result.text);
        this.options.onPartial?.({
          committed: this.committed.join(" "),
          tentative: all.slice(this.committed.length).join(" "),
          audioMs: this.audioMs,
          decodeMs: this.lastDecodeMs,
        });
      } catch (error) {
        this.lastDecodeMs = performance.now() - started;
        if (!this.closed && !isDuetError(error, "aborted")) this.options.onError?.(error as Error);
      }
    }
  }

  /** Push-to-talk released: the final transcript of everything heard. */
  async finish(): Promise<FinalTranscript> {
    this.closed = true;
    this.wake?.();
    await this.loop;
    const audio = this.audio();
    const started = performance.now();
    const result = await this.decode(audio);
    return {
      text: result?.text ?? "",
      decodeMs: result ? result.decodeMs : performance.now() - started,
      audioMs: this.audioMs,
      silent: result === undefined,
    };
  }

  /** Stops without a final transcript. */
  cancel(): void {
    this.closed = true;
    this.controller.abort();
    this.wake?.();
  }
}
