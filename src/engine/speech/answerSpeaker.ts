import { DuetError, isDuetError } from "../errors.js";
import { TokenChunker, type TextChunk } from "../metrics/chunking.js";
import { durationMs, type MonoAudio } from "./pcm.js";
import { toSpeakable } from "./speakable.js";
import type { SpeechSynthesizer } from "./tts/synthesizer.js";

/** Plays audio chunks in order. The desktop app plays in the window; the CLI keeps a timeline. */
export interface AudioSink {
  /** Queues a chunk; resolves when it finished playing (`completed`) or was stopped. */
  play(audio: MonoAudio, chunkId: number): Promise<{ completed: boolean }>;
  /** Stops at once and drops anything queued; returns how far into the current chunk playback got (ms). */
  stop(): number;
}

export type { SpokenChunk } from "../../shared/session.js";
import type { SpokenChunk } from "../../shared/session.js";

export interface AnswerSpeakerOptions {
  synthesizer: SpeechSynthesizer;
  sink: AudioSink;
  /** ms since the turn started. */
  clock: () => number;
  /** Tokens per chunk (LaTeX is never split). Default 5 as in the paper; a voice assistant may prefer 8. */
  tokensPerChunk?: number;
  /** Index of the first answer token this speaker receives (after a barge-in the answer resumes mid-way). Default 0. */
  firstToken?: number;
  /** Chunks synthesised ahead of playback at once. Default 2. */
  concurrency?: number;
  rate?: number;
  math?: (latex: string) => string;
  /** A chunk was heard (played to its end, or had nothing to say). */
  onChunk?: (chunk: SpokenChunk) => void;
  /** A chunk started playing. */
  onPlayStart?: (chunk: SpokenChunk) => void;
  /** A failed chunk is skipped (its text stays on screen); the error is reported here. */
  onError?: (error: Error, chunk: SpokenChunk) => void;
}

interface Pending {
  chunk: SpokenChunk;
  audio: Promise<MonoAudio | undefined>;
}

/**
 * Speaks the answer as it is written: tokens are grouped into chunks, each made speakable and
 * synthesised ahead of playback with bounded concurrency, then played in order. It always knows
 * which answer tokens the user has actually heard, and stops within one audio callback.
 */
export class AnswerSpeaker {
  private readonly chunker: TokenChunker;
  private readonly spoken: SpokenChunk[] = [];
  private synthesizing = 0;
  private readonly waitingToSynth: Array<() => void> = [];
  private playing: Promise<void> = Promise.resolve();
  private readonly controller = new AbortController();
  private stopped = false;
  private heard = 0;
  private current: { chunk: SpokenChunk; startedAt: number } | undefined;

  constructor(private readonly options: AnswerSpeakerOptions) {
    this.chunker = new TokenChunker(options.tokensPerChunk ?? 5);
    this.heard = options.firstToken ?? 0;
  }

  get chunks(): readonly SpokenChunk[] {
    return this.spoken;
  }

  /** Answer tokens the user has heard so far (a chunk being played counts in proportion to its progress). */
  get heardTokens(): number {
    const chunkMs = this.current?.chunk.durationMs;
    if (this.current && chunkMs) {
      const { chunk, startedAt } = this.current;
      const fraction = Math.min(1, (this.options.clock() - startedAt) / chunkMs);
      return Math.max(
        this.heard,
        chunk.startToken + Math.floor(fraction * (chunk.endToken - chunk.startToken)),
      );
    }
    return this.heard;
  }

  push(token: { text: string; timeMs: number }): void {
    if (this.stopped) return;
    const chunk = this.chunker.push(token);
    if (chunk) this.enqueue(chunk);
  }

  /** The answer is complete: speaks the rest; resolves when everything has been played. */
  async end(): Promise<void> {
    const rest = this.chunker.flush();
    if (rest && !this.stopped) this.enqueue(rest);
    await this.playing;
  }

  /** Barge-in: silence now, drop everything queued. Returns the tokens the user heard. */
  stop(): number {
    if (this.stopped) return this.heard;
    const heard = this.heardTokens;
    this.stopped = true;
    this.controller.abort();
    this.options.sink.stop();
    this.heard = heard;
    this.current = undefined;
    for (const wake of this.waitingToSynth.splice(0)) wake();
    return heard;
  }

  private enqueue(text: TextChunk): void {
    const chunk: SpokenChunk = {
      id: this.spoken.length,
      text: text.raw,
      spoken: toSpeakable(text.raw, this.options.math),
      startToken: text.startToken + (this.options.firstToken ?? 0),
      endToken: text.endToken + (this.options.firstToken ?? 0),
      writtenMs: text.timeMs,
      synthMs: null,
      durationMs: null,
      readyMs: null,
      playStartMs: null,
      playEndMs: null,
    };
    this.spoken.push(chunk);
    const pending: Pending = { chunk, audio: this.synthesize(chunk) };
    const previous = this.playing;
    this.playing = previous.then(() => this.play(pending));
  }

  private async synthesize(chunk: SpokenChunk): Promise<MonoAudio | undefined> {
    if (chunk.spoken === "") return undefined;
    const limit = this.options.concurrency ?? 2;
    while (this.synthesizing >= limit && !this.stopped)
      await new Promise<void>((resolve) => this.waitingToSynth.push(resolve));
    if (this.stopped) return undefined;
    this.synthesizing++;
    try {
      const speech = await this.options.synthesizer.synthesize(chunk.spoken, {
        signal: this.controller.signal,
        ...(this.options.rate ? { rate: this.options.rate } : {}),
      });
      chunk.synthMs = speech.synthMs;
      chunk.durationMs = speech.durationMs;
      chunk.readyMs = this.options.clock();
      return speech;
    } catch (error) {
      if (!this.stopped && !isDuetError(error, "aborted")) {
        chunk.error = error instanceof Error ? error.message : String(error);
        this.options.onError?.(
          error instanceof Error ? error : new DuetError("decode-failed", String(error)),
          chunk,
        );
      }
      return undefined;
    } finally {
      this.synthesizing--;
      this.waitingToSynth.shift()?.();
    }
  }

  private async play(pending: Pending): Promise<void> {
    const audio = await pending.audio;
    const chunk = pending.chunk;
    if (this.stopped) return;
    if (!audio) {
      // Nothing to say (punctuation only) or synthesis failed: the text still counts as delivered.
      this.heard = chunk.endToken;
      this.options.onChunk?.(chunk);
      return;
    }
    chunk.playStartMs = this.options.clock();
    this.current = { chunk, startedAt: chunk.playStartMs };
    this.options.onPlayStart?.(chunk);
    const { completed } = await this.options.sink.play(audio, chunk.id);
    if (!completed || this.stopped) return;
    chunk.playEndMs = this.options.clock();
    this.current = undefined;
    this.heard = chunk.endToken;
    this.options.onChunk?.(chunk);
  }
}

/**
 * A sink that plays on a clock without a sound card: each chunk lasts its duration, in real time
 * (or `speed` times faster), and the whole answer is kept, with the silences the user would hear,
 * so it can be written to a WAV.
 */
export class TimelineSink implements AudioSink {
  private readonly parts: Array<{ startMs: number; audio: MonoAudio }> = [];
  private busyUntil = 0;
  private timers = new Set<NodeJS.Timeout>();
  private resolvers = new Set<(r: { completed: boolean }) => void>();
  private playing: { startedAt: number } | undefined;

  constructor(
    private readonly clock: () => number,
    private readonly speed = 1,
  ) {}

  play(audio: MonoAudio, _chunkId: number): Promise<{ completed: boolean }> {
    const now = this.clock();
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = start + durationMs(audio) / this.speed;
    this.parts.push({ startMs: start, audio });
    return new Promise((resolve) => {
      this.resolvers.add(resolve);
      const begin = setTimeout(() => {
        this.timers.delete(begin);
        this.playing = { startedAt: this.clock() };
      }, start - now);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.resolvers.delete(resolve);
        this.playing = undefined;
        resolve({ completed: true });
      }, this.busyUntil - now);
      this.timers.add(begin);
      this.timers.add(timer);
    });
  }

  stop(): number {
    const position = this.playing ? (this.clock() - this.playing.startedAt) * this.speed : 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.resolvers) r({ completed: false });
    this.resolvers.clear();
    // Cut the audio where it stopped.
    const cutAt = this.clock();
    const last = this.parts.at(-1);
    if (last) {
      const keep = Math.max(
        0,
        Math.floor(((cutAt - last.startMs) * this.speed * last.audio.sampleRate) / 1000),
      );
      if (keep < last.audio.samples.length)
        last.audio = { ...last.audio, samples: last.audio.samples.subarray(0, keep) };
    }
    while (this.parts.length > 0 && this.parts.at(-1)!.startMs > cutAt) this.parts.pop();
    this.busyUntil = cutAt;
    this.playing = undefined;
    return position;
  }

  /** Everything played, with silence where the user waited, from the turn's start (or `fromMs`). */
  render(sampleRate: number, fromMs = 0): MonoAudio {
    const end = this.parts.reduce(
      (m, p) => Math.max(m, (p.startMs - fromMs) * this.speed + durationMs(p.audio)),
      0,
    );
    const samples = new Float32Array(Math.ceil((Math.max(0, end) * sampleRate) / 1000));
    for (const p of this.parts) {
      if (p.audio.sampleRate !== sampleRate)
        throw new DuetError("invalid-argument", "Mixed sample rates in the answer audio.");
      const at = Math.max(0, Math.round(((p.startMs - fromMs) * this.speed * sampleRate) / 1000));
      samples.set(p.audio.samples.subarray(0, Math.max(0, samples.length - at)), at);
    }
    return { samples, sampleRate };
  }

  get sampleRate(): number | undefined {
    return this.parts[0]?.audio.sampleRate;
  }
}
