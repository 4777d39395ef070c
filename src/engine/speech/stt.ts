import { createRequire } from "node:module";
import { DuetError } from "../errors.js";
import { validateWhisperFile } from "../models/validate.js";
import { STT_SAMPLE_RATE, float32ToInt16, type MonoAudio } from "./pcm.js";

export interface TranscriptSegment {
  text: string;
  startMs: number;
  endMs: number;
}

export interface Transcription {
  text: string;
  segments: TranscriptSegment[];
  /** Time the recogniser took. */
  decodeMs: number;
  audioMs: number;
}

export interface TranscribeOptions {
  /** Language code, or "auto". Default "en". */
  language?: string;
  /** Words to expect (names, jargon), given to the recogniser as context. */
  prompt?: string;
  /** Abandon the call after this long (the result, if it ever comes, is ignored). Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Speech to text. Behind an interface so other engines can be added. */
export interface SpeechRecognizer {
  readonly name: string;
  transcribe(audio: MonoAudio, options?: TranscribeOptions): Promise<Transcription>;
  dispose(): Promise<void>;
}

/** Text whisper writes for non-speech ("[BLANK_AUDIO]", "(music)", "♪"): never user words. */
const NON_SPEECH = /\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪+/g;

export function cleanTranscript(text: string): string {
  return text.replace(NON_SPEECH, " ").replace(/\s+/g, " ").trim();
}

interface WhisperNative {
  transcribeData(audio: ArrayBuffer, options: Record<string, unknown>): { stop: () => Promise<void>; promise: Promise<{ result: string; segments: Array<{ text: string; t0: number; t1: number }> }> };
  release(): Promise<void>;
}

/**
 * whisper.cpp through @fugood/whisper.node: the model stays loaded, audio is passed in memory and
 * decoding runs off the event loop. Calls run one at a time. A call that overruns its timeout is
 * abandoned (its stop() is requested but whisper.cpp only checks between stages) and reported;
 * the next call waits for the abandoned one to release the context, within its own timeout.
 */
export class WhisperRecognizer implements SpeechRecognizer {
  readonly name = "whisper.cpp";
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly context: WhisperNative,
    private readonly threads: number,
  ) {}

  static async load(modelPath: string, options: { gpu?: boolean; threads?: number } = {}): Promise<WhisperRecognizer> {
    await validateWhisperFile(modelPath);
    let initWhisper: (options: { filePath: string; useGpu?: boolean }) => Promise<WhisperNative>;
    try {
      // Loaded at run time by name: the package ships TypeScript sources that would otherwise be type-checked here.
      ({ initWhisper } = createRequire(import.meta.url)("@fugood/whisper.node") as { initWhisper: typeof initWhisper });
    } catch (error) {
      throw new DuetError("model-unreadable", `whisper.cpp could not be loaded on this system: ${(error as Error).message}`, { cause: error });
    }
    try {
      const context = await initWhisper({ filePath: modelPath, useGpu: options.gpu ?? false });
      return new WhisperRecognizer(context, options.threads ?? 2);
    } catch (error) {
      throw new DuetError("model-unreadable", `whisper.cpp could not load ${modelPath}: ${(error as Error).message}`, { cause: error });
    }
  }

  transcribe(audio: MonoAudio, options: TranscribeOptions = {}): Promise<Transcription> {
    if (this.disposed) return Promise.reject(new DuetError("engine-disposed", "The speech recogniser was unloaded."));
    if (audio.sampleRate !== STT_SAMPLE_RATE) return Promise.reject(new DuetError("invalid-argument", "Speech-to-text needs 16 kHz audio."));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const started = performance.now();
    const deadline = started + timeoutMs;
    const run = async (): Promise<Transcription> => {
      if (options.signal?.aborted) throw new DuetError("aborted", "Transcription cancelled.");
      if (performance.now() > deadline) throw new DuetError("decode-failed", `Speech-to-text did not start within ${timeoutMs} ms (the recogniser is busy).`);
      const pcm = float32ToInt16(audio.samples);
      const call = this.context.transcribeData(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength) as ArrayBuffer, {
        language: options.language ?? "en",
        maxThreads: this.threads,
        ...(options.prompt ? { prompt: options.prompt } : {}),
      });
      const decodeStart = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => void call.stop().catch(() => undefined);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const result = await Promise.race([
          call.promise,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              void call.stop().catch(() => undefined);
              reject(new DuetError("decode-failed", `Speech-to-text took longer than ${timeoutMs} ms and was abandoned.`));
            }, Math.max(1, deadline - performance.now()));
          }),
        ]);
        if (options.signal?.aborted) throw new DuetError("aborted", "Transcription cancelled.");
        return {
          text: cleanTranscript(result.result),
          segments: result.segments
            .map((s) => ({ text: cleanTranscript(s.text), startMs: s.t0, endMs: s.t1 }))
            .filter((s) => s.text !== ""),
          decodeMs: performance.now() - decodeStart,
          audioMs: (audio.samples.length * 1000) / audio.sampleRate,
        };
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        // The context stays busy until whisper.cpp really returns, even after we gave up waiting.
        this.queue = this.queue.then(() => call.promise.catch(() => undefined));
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => undefined);
    await this.context.release();
  }
}
