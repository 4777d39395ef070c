import { createRequire } from "node:module";
import { DuetError } from "../errors.js";
import { nativeLog } from "../nativeLog.js";
import { validateWhisperFile } from "../models/validate.js";
import { STT_SAMPLE_RATE, durationMs, float32ToInt16, type MonoAudio } from "./pcm.js";

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
  transcribeData(
    audio: ArrayBuffer,
    options: Record<string, unknown>,
  ): {
    stop: () => Promise<void>;
    promise: Promise<{ result: string; segments: Array<{ text: string; t0: number; t1: number }> }>;
  };
  release(): Promise<void>;
}

interface WhisperModule {
  initWhisper(options: { filePath: string; useGpu?: boolean }): Promise<WhisperNative>;
  toggleNativeLog(enable: boolean): Promise<void>;
  addNativeLogListener(listener: (level: string, text: string) => void): { remove(): void };
}

let whisperModule: WhisperModule | undefined;
/** Recognisers alive; whisper.cpp's log goes to the native log while there is one. */
let liveRecognizers = 0;

/**
 * whisper.cpp prints dozens of lines per model load to stderr unless its log goes to a listener.
 * The listener is a thread-safe callback that keeps Node's event loop alive, so it is switched off
 * when the last recogniser is disposed (and the process can exit).
 */
function routeWhisperLogs(whisper: WhisperModule, on: boolean): void {
  if (!whisperModule) {
    whisperModule = whisper;
    whisper.addNativeLogListener((level, text) => nativeLog({ source: "whisper.cpp", level, text }));
  }
  liveRecognizers += on ? 1 : -1;
  if (on && liveRecognizers === 1) void whisper.toggleNativeLog(true);
  if (!on && liveRecognizers === 0) void whisper.toggleNativeLog(false);
}

/**
 * whisper.cpp through @fugood/whisper.node: the model stays loaded, audio is passed in memory and
 * decoding runs off the event loop. Calls run one at a time. A call that overruns its timeout is
 * abandoned and reported; it is not stopped (the binding's stop() can leave the call unsettled),
 * so the context frees itself when whisper.cpp returns, and the next call waits for that within
 * its own timeout, never longer.
 */
export class WhisperRecognizer implements SpeechRecognizer {
  readonly name = "whisper.cpp";
  /** Settles when the context is free again. */
  private busy: Promise<void> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly context: WhisperNative,
    private readonly threads: number,
  ) {}

  static async load(
    modelPath: string,
    options: { gpu?: boolean; threads?: number } = {},
  ): Promise<WhisperRecognizer> {
    await validateWhisperFile(modelPath);
    let initWhisper: WhisperModule["initWhisper"];
    try {
      // Loaded at run time by name: the package ships TypeScript sources that would otherwise be type-checked here.
      const whisper = createRequire(import.meta.url)("@fugood/whisper.node") as WhisperModule;
      initWhisper = whisper.initWhisper;
      routeWhisperLogs(whisper, true);
    } catch (error) {
      throw new DuetError(
        "model-unreadable",
        `whisper.cpp could not be loaded on this system: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      const context = await initWhisper({ filePath: modelPath, useGpu: options.gpu ?? false });
      return new WhisperRecognizer(context, options.threads ?? 2);
    } catch (error) {
      if (whisperModule) routeWhisperLogs(whisperModule, false);
      throw new DuetError(
        "model-unreadable",
        `whisper.cpp could not load ${modelPath}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async transcribe(audio: MonoAudio, options: TranscribeOptions = {}): Promise<Transcription> {
    if (this.disposed) throw new DuetError("engine-disposed", "The speech recogniser was unloaded.");
    if (audio.sampleRate !== STT_SAMPLE_RATE)
      throw new DuetError("invalid-argument", "Speech-to-text needs 16 kHz audio.");
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), timeoutMs);
    });
    const aborted = new Promise<"aborted">((resolve) => {
      if (options.signal?.aborted) resolve("aborted");
      options.signal?.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
    try {
      // Wait for the context, but only as long as this call may take.
      const previous = this.busy;
      let release!: () => void;
      this.busy = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
      const waited = await Promise.race([previous.then(() => "free" as const), expiry, aborted]);
      if (waited !== "free") {
        void previous.then(() => release());
        if (waited === "aborted") throw new DuetError("aborted", "Transcription cancelled.");
        throw new DuetError(
          "decode-failed",
          `Speech-to-text could not start within ${timeoutMs} ms: an earlier call is still running.`,
        );
      }
      const pcm = float32ToInt16(audio.samples);
      const started = performance.now();
      let call: ReturnType<WhisperNative["transcribeData"]>;
      try {
        // A fresh array that owns all of its buffer: no copy needed.
        call = this.context.transcribeData(pcm.buffer, {
          language: options.language ?? "en",
          maxThreads: this.threads,
          ...(options.prompt ? { prompt: options.prompt } : {}),
        });
      } catch (error) {
        release();
        throw new DuetError("decode-failed", `whisper.cpp refused the audio: ${(error as Error).message}`, {
          cause: error,
        });
      }
      // The context is busy until whisper.cpp returns, even if this call stops waiting for it.
      void call.promise.then(release, release);
      const outcome = await Promise.race([call.promise, expiry, aborted]);
      if (outcome === "aborted") throw new DuetError("aborted", "Transcription cancelled.");
      if (outcome === "expired") {
        throw new DuetError(
          "decode-failed",
          `Speech-to-text took longer than ${timeoutMs} ms and was abandoned.`,
        );
      }
      return {
        text: cleanTranscript(outcome.result),
        segments: outcome.segments
          .map((seg) => ({ text: cleanTranscript(seg.text), startMs: seg.t0, endMs: seg.t1 }))
          .filter((seg) => seg.text !== ""),
        decodeMs: performance.now() - started,
        audioMs: durationMs(audio),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // Release only once no call is running inside whisper.cpp.
    await this.busy;
    await this.context.release();
    if (whisperModule) routeWhisperLogs(whisperModule, false);
  }
}
