import { existsSync } from "node:fs";
import { DuetError } from "../errors.js";
import { STT_SAMPLE_RATE, rms, type MonoAudio } from "./pcm.js";
import { loadSherpaOnnx } from "./sherpa.js";

/** A stretch of speech, in samples of the analysed audio. */
export interface SpeechSpan {
  start: number;
  end: number;
}

/** Finds speech in 16 kHz mono audio. */
export interface VoiceActivityDetector {
  readonly name: string;
  spans(audio: MonoAudio): SpeechSpan[];
  dispose(): void;
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

  dispose(): void {}
}

interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  front(enableExternalBuffer?: boolean): { start: number; samples: Float32Array };
  pop(): void;
  flush(): void;
  reset(): void;
}

/** The file name the catalog's `silero-vad` entry installs into the models folder. */
export const SILERO_MODEL_FILE = "silero_vad.onnx";

/** Silero VAD through sherpa-onnx: a small neural model, far better than energy in noise. */
export class SileroVad implements VoiceActivityDetector {
  readonly name = "silero";
  private constructor(private readonly vad: SherpaVad) {}

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
    const sherpa = loadSherpaOnnx<{ Vad: new (config: object, bufferSeconds: number) => SherpaVad }>();
    try {
      const vad = new sherpa.Vad(
        {
          sileroVad: {
            model: modelPath,
            threshold: options.threshold ?? 0.5,
            minSilenceDuration: (options.minSilenceMs ?? 300) / 1000,
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
      return new SileroVad(vad);
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
