import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DuetError } from "../../errors.js";
import { voiceModelName } from "../../models/validate.js";
import { durationMs } from "../pcm.js";
import { loadSherpaOnnx } from "../sherpa.js";
import type { SpeechSynthesizer, SynthesisOptions, SynthesizedSpeech } from "./synthesizer.js";

interface SherpaTts {
  sampleRate: number;
  generateAsync(request: {
    text: string;
    sid: number;
    speed: number;
    onProgress?: (info: { samples: Float32Array; progress: number }) => number | boolean;
  }): Promise<{ samples: Float32Array; sampleRate: number }>;
}

/** sherpa-onnx's model config for a voice folder: Kokoro (voices.bin) or Piper/VITS. */
export function voiceConfig(folder: string): { kind: "kokoro" | "piper"; config: object } {
  if (!existsSync(folder)) throw new DuetError("model-not-found", `Voice not found: ${folder}`);
  const names = readdirSync(folder);
  const model = voiceModelName(folder, names);
  const dataDir = names.includes("espeak-ng-data") ? join(folder, "espeak-ng-data") : "";
  if (names.includes("voices.bin")) {
    return {
      kind: "kokoro",
      config: {
        kokoro: {
          model: join(folder, model),
          voices: join(folder, "voices.bin"),
          tokens: join(folder, "tokens.txt"),
          dataDir,
        },
      },
    };
  }
  return {
    kind: "piper",
    config: { vits: { model: join(folder, model), tokens: join(folder, "tokens.txt"), dataDir } },
  };
}

/** A downloaded neural voice (Piper by default, Kokoro for high quality) through sherpa-onnx. */
export class NeuralVoice implements SpeechSynthesizer {
  readonly name: string;

  private constructor(
    private readonly tts: SherpaTts,
    kind: string,
    private readonly speaker: number,
  ) {
    this.name = `neural (${kind})`;
  }

  static async load(
    folder: string,
    options: { speaker?: number; threads?: number } = {},
  ): Promise<NeuralVoice> {
    const { kind, config } = voiceConfig(folder);
    const sherpa = loadSherpaOnnx<{ OfflineTts: { createAsync(config: object): Promise<SherpaTts> } }>();
    try {
      const tts = await sherpa.OfflineTts.createAsync({
        model: { ...config, numThreads: options.threads ?? 1, debug: false },
        maxNumSentences: 1,
      });
      return new NeuralVoice(tts, kind, options.speaker ?? 0);
    } catch (error) {
      throw new DuetError(
        "model-unreadable",
        `The voice in ${folder} could not be loaded: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async synthesize(text: string, options: SynthesisOptions = {}): Promise<SynthesizedSpeech> {
    const started = performance.now();
    if (options.signal?.aborted) throw new DuetError("aborted", "Speech synthesis cancelled.");
    // Returning 0 from the progress callback stops generation at the next sentence piece.
    const audio = await this.tts.generateAsync({
      text,
      sid: this.speaker,
      speed: options.rate ?? 1,
      onProgress: () => (options.signal?.aborted ? 0 : 1),
    });
    if (options.signal?.aborted) throw new DuetError("aborted", "Speech synthesis cancelled.");
    return {
      samples: audio.samples,
      sampleRate: audio.sampleRate,
      durationMs: durationMs(audio),
      synthMs: performance.now() - started,
    };
  }

  async dispose(): Promise<void> {}
}
