import { existsSync } from "node:fs";
import { DuetError } from "../errors.js";
import { STT_SAMPLE_RATE, rms, type MonoAudio } from "./pcm.js";
import { loadSherpaOnnx } from "./sherpa.js";

/** A stretch of speech, in samples of the analysed audio. */
export interface SpeechSpan {
  start: number;
  end: number;
}

/** Speech detection on live audio, frame by frame (hands-free listening). */
export interface SpeechStream {
  /** Feeds 16 kHz mono samples; true while someone is speaking. */
  accept(samples: Float32Array): boolean;
  reset(): void;
  dispose(): void;
}

/** Finds speech in 16 kHz mono audio. */
export interface VoiceActivityDetector {
  readonly name: string;
  spans(audio: MonoAudio): SpeechSpan[];
  /** A detector for live audio, with its own state. */
  stream(): SpeechStream;
  dispose(): void;
}

/**
 * Live energy detection: 20 ms frames louder than the noise floor by a margin are speech. The
 * floor follows quiet frames down at once and up slowly, so steady noise (a fan) becomes the floor.
 */
class EnergyStream implements SpeechStream {
  private readonly frame = new Float32Array(320);
  private filled = 0;
  private noise: number;
  private speaking = false;

  constructor(
    private readonly floor: number,
    private readonly margin: number,
  ) {
    this.noise = floor;
  }

  accept(samples: Float32Array): boolean {
    for (let i = 0; i < samples.length; i++) {
      this.frame[this.filled++] = samples[i]!;
      if (this.filled < this.frame.length) continue;
      this.filled = 0;
      const level = rms(this.frame, 0, this.frame.length);
      this.speaking = level >= this.noise * this.margin;
      if (level < this.noise) this.noise = Math.max(this.floor, level);
      else if (!this.speaking) this.noise += (level - this.noise) * 0.05;
    }
    return this.speaking;
  }

  reset(): void {
    this.filled = 0;
    this.speaking = false;
  }

  dispose(): void {}
}

/**
 * Energy-based detection: frames louder than an adaptive noise floor (the quietest tenth of
 * frames) by a margin count as speech; short gaps are bridged, short blips dropped.
 */
export class EnergyVad implements VoiceActivityDetector {
  readonly name = "energy";

  constructor(
    private readonly options: {
      frameMs?: number;
      marginDb?: number;
      minSpeechMs?: number;
      maxGapMs?: number;
      floor?: number;
    } = {},
  ) {}

  spans(audio: MonoAudio): SpeechSpan[] {
    const frame = Math.round((audio.sampleRate * (this.options.frameMs ?? 20)) / 1000);
    const count = Math.floor(audio.samples.length / frame);
    if (count === 0) return [];
    const levels = Array.from({ length: count }, (_, i) => rms(audio.samples, i * frame, (i + 1) * frame));
    const sorted = [...levels].sort((a, b) => a - b);
    const noise = Math.max(sorted[Math.floor(count * 0.1)] ?? 0, this.options.floor ?? 0.002);
    const threshold = noise * 10 ** ((this.options.marginDb ?? 12) / 20);
    const spans: SpeechSpan[] = [];
    let open: number | undefined;
    let lastLoud = -1;
    const maxGap = Math.round((this.options.maxGapMs ?? 300) / (this.options.frameMs ?? 20));
    for (let i = 0; i < count; i++) {
      if (levels[i]! >= threshold) {
        if (open === undefined) open = i;
        lastLoud = i;
      } else if (open !== undefined && i - lastLoud > maxGap) {
        spans.push({ start: open * frame, end: (lastLoud + 1) * frame });
        open = undefined;
      }
    }
    if (open !== undefined) spans.push({ start: open * frame, end: (lastLoud + 1) * frame });
    const minSpeech = ((this.options.minSpeechMs ?? 150) * audio.sampleRate) / 1000;
    return spans.filter((s) => s.end - s.start >= minSpeech);
  }

  stream(): SpeechStream {
    return new EnergyStream(this.options.floor ?? 0.002, 10 ** ((this.options.marginDb ?? 12) / 20));
  }

  dispose(): void {}
}

interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  front(enableExternalBuffer?: boolean): { start: number; samples: Float32Array };
  pop(): void;
  flush(): void;
  reset(): void;
  isDetected(): boolean;
}

type SherpaVadClass = new (config: object, bufferSeconds: number) => SherpaVad;

/** The file name the catalog's `silero-vad` entry installs into the models folder. */
export const SILERO_MODEL_FILE = "silero_vad.onnx";

/** Silero VAD through sherpa-onnx: a small neural model, far better than energy in noise. */
export class SileroVad implements VoiceActivityDetector {
  readonly name = "silero";
  private constructor(
    private readonly vad: SherpaVad,
    private readonly create: (minSilenceMs: number) => SherpaVad,
  ) {}

  static async load(
    modelPath: string | undefined,
    options: { threshold?: number; minSilenceMs?: number; minSpeechMs?: number } = {},
  ): Promise<SileroVad> {
    if (!modelPath || !existsSync(modelPath)) {
      throw new DuetError(
        "model-not-found",
        `The Silero voice-activity model was not found${modelPath ? ` at ${modelPath}` : ""}; ` +
          "download it with `npm run models -- download silero-vad` (or in Settings).",
      );
    }
    const sherpa = loadSherpaOnnx<{ Vad: SherpaVadClass }>();
    const create = (minSilenceMs: number): SherpaVad =>
      new sherpa.Vad(
        {
          sileroVad: {
            model: modelPath,
            threshold: options.threshold ?? 0.5,
            minSilenceDuration: minSilenceMs / 1000,
            minSpeechDuration: (options.minSpeechMs ?? 200) / 1000,
            windowSize: 512,
            maxSpeechDuration: 30,
          },
          sampleRate: STT_SAMPLE_RATE,
          numThreads: 1,
          debug: false,
        },
        60,
      );
    try {
      return new SileroVad(create(options.minSilenceMs ?? 300), create);
    } catch (error) {
      throw new DuetError(
        "model-unreadable",
        `The Silero VAD model at ${modelPath} could not be loaded: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  spans(audio: MonoAudio): SpeechSpan[] {
    if (audio.sampleRate !== STT_SAMPLE_RATE)
      throw new DuetError("invalid-argument", "Silero VAD needs 16 kHz audio.");
    this.vad.reset();
    const spans: SpeechSpan[] = [];
    const drain = () => {
      while (!this.vad.isEmpty()) {
        const segment = this.vad.front(false);
        spans.push({ start: segment.start, end: segment.start + segment.samples.length });
        this.vad.pop();
      }
    };
    for (let at = 0; at < audio.samples.length; at += 512) {
      this.vad.acceptWaveform(audio.samples.subarray(at, Math.min(audio.samples.length, at + 512)));
      drain();
    }
    this.vad.flush();
    drain();
    return spans;
  }

  stream(): SpeechStream {
    // The pause that ends a turn is the listener's to judge: the model only reports speech now.
    const vad = this.create(100);
    return {
      accept(samples) {
        vad.acceptWaveform(samples);
        // Finished segments are not needed here; dropping them keeps the buffer small.
        while (!vad.isEmpty()) vad.pop();
        return vad.isDetected();
      },
      reset: () => vad.reset(),
      dispose: () => vad.reset(),
    };
  }

  dispose(): void {
    this.vad.reset();
  }
}

/** Silero when its model is there and loads, otherwise the energy detector, with the reason. */
export async function loadVad(
  modelPath?: string,
): Promise<{ vad: VoiceActivityDetector; fallbackReason?: string }> {
  try {
    return { vad: await SileroVad.load(modelPath) };
  } catch (error) {
    return { vad: new EnergyVad(), fallbackReason: (error as Error).message };
  }
}

/**
 * The audio from the first to the last speech span, padded, or undefined when nobody spoke. This
 * is what keeps the recogniser from inventing words on silence or noise.
 */
export function trimToSpeech(
  audio: MonoAudio,
  spans: readonly SpeechSpan[],
  padMs = 200,
): MonoAudio | undefined {
  if (spans.length === 0) return undefined;
  const pad = Math.round((padMs * audio.sampleRate) / 1000);
  const start = Math.max(0, spans[0]!.start - pad);
  const end = Math.min(audio.samples.length, spans[spans.length - 1]!.end + pad);
  return { samples: audio.samples.subarray(start, end), sampleRate: audio.sampleRate };
}
