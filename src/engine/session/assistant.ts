import { basename } from "node:path";
import { isDuetError } from "../errors.js";
import type { GpuChoice } from "../llama/types.js";
import { ReasoningEngine } from "../reasoning/engine.js";
import type { AudioSink } from "../speech/answerSpeaker.js";
import { loadMathSpeech } from "../speech/speakable.js";
import { WhisperRecognizer, type SpeechRecognizer } from "../speech/stt.js";
import { NeuralVoice } from "../speech/tts/neuralVoice.js";
import type { SpeechSynthesizer } from "../speech/tts/synthesizer.js";
import { SystemVoice } from "../speech/tts/systemVoice.js";
import { loadVad } from "../speech/vad.js";
import type { AssistantConfig } from "./config.js";
import { VoiceSession } from "./voiceSession.js";

export interface OpenAssistantOptions {
  /**
   * Where the spoken answer goes. With a sink the assistant has a voice session (speech-to-text,
   * voice activity detection, speech); without one it is text only (`ask`, `demo`, benchmarks).
   */
  sink?: AudioSink;
  /** An earlier conversation to continue (after the engine process restarted). Default none. */
  history?: ReadonlyArray<{ user: string; answer: string }>;
  /** Milliseconds, monotonic, for the voice session's timings. Default performance.now. */
  now?: () => number;
}

/**
 * What runs the model, in words for people: "CPU", "Vulkan GPU (Radeon 780M)". A GPU backend
 * that put no layer on the GPU (no GPU memory, a software device) runs the model on the CPU.
 */
export function describeDevice(
  gpu: GpuChoice | false,
  placement: { layers?: number; device?: string } = {},
): string {
  if (gpu === false || gpu === "cpu" || placement.layers === 0) return "CPU";
  const names: Record<string, string> = { cuda: "CUDA", vulkan: "Vulkan", metal: "Metal" };
  return `${names[gpu] ?? gpu} GPU${placement.device ? ` (${placement.device})` : ""}`;
}

/** An open assistant: the engine on the loaded model, and (with a sink) the voice session around it. */
export interface Assistant {
  readonly engine: ReasoningEngine;
  readonly session: VoiceSession | undefined;
  readonly synthesizer: SpeechSynthesizer | undefined;
  /** The model file in use, and where it runs. */
  readonly model: { path: string; file: string; runsOn: string };
  /** The speech-to-text model's file name, when one loaded. */
  readonly speechToText: string | null;
  /** Everything that fell back (GPU to CPU, a voice that did not load...), for the user to read. */
  readonly notices: readonly string[];
  dispose(): Promise<void>;
}

function openEngine(config: AssistantConfig, gpu: GpuChoice): Promise<ReasoningEngine> {
  const { hardware, reasoning, tuning } = config;
  const sampling = tuning.temperature ? { temperature: tuning.temperature, topP: 0.95 } : {};
  return ReasoningEngine.open({
    modelPath: config.files.llm,
    gpu,
    gpuLayers: gpu === "cpu" ? 0 : hardware.gpuLayers,
    ...(hardware.threads ? { threads: hardware.threads } : {}),
    ...(hardware.contextSize ? { contextSize: hardware.contextSize } : {}),
    layout: reasoning.layout,
    mode: reasoning.mode,
    probeInterval: reasoning.probeInterval,
    safety: reasoning.safety,
    maxSteps: reasoning.maxSteps,
    thoughtSharing: reasoning.thoughtSharing,
    ...(tuning.probe ? { probe: tuning.probe } : {}),
    sampling: { thinker: sampling, writer: sampling },
  });
}

/**
 * Opens the assistant from its configuration: the one way in for the app's engine process and
 * every command. Each optional part falls back instead of failing, with a notice: a GPU backend
 * that cannot load the model falls back to the CPU; a speech-to-text model that does not load
 * leaves typing; a voice that does not load leaves the system voice; no Silero model leaves
 * loudness-based voice detection. Only a reasoning model that cannot load is an error.
 */
export async function openAssistant(
  config: AssistantConfig,
  options: OpenAssistantOptions = {},
): Promise<Assistant> {
  const notices: string[] = [];
  const gpu = config.hardware.gpu;
  let engine: ReasoningEngine;
  try {
    engine = await openEngine(config, gpu);
  } catch (error) {
    const modelProblem =
      isDuetError(error, "unsupported-architecture") ||
      isDuetError(error, "unknown-prompt-family") ||
      isDuetError(error, "gguf-bad-magic") ||
      isDuetError(error, "gguf-truncated") ||
      isDuetError(error, "gguf-corrupt") ||
      isDuetError(error, "model-not-found");
    if (gpu === "cpu" || modelProblem) throw error;
    notices.push(`The ${gpu} backend failed (${(error as Error).message}); running on the CPU.`);
    engine = await openEngine(config, "cpu");
  }
  if (options.history) engine.restoreHistory(options.history);

  let recognizer: SpeechRecognizer | undefined;
  let synthesizer: SpeechSynthesizer | undefined;
  let session: VoiceSession | undefined;
  const dispose = async (): Promise<void> => {
    session?.stop();
    await recognizer?.dispose().catch(() => undefined);
    await synthesizer?.dispose().catch(() => undefined);
    await engine.dispose().catch(() => undefined);
  };
  try {
    if (options.sink) {
      const { files, speech } = config;
      if (files.stt) {
        try {
          recognizer = await WhisperRecognizer.load(files.stt, { gpu: gpu !== "cpu" });
        } catch (error) {
          notices.push(`Speech-to-text is off: ${(error as Error).message}`);
        }
      } else {
        notices.push("No speech-to-text model is installed: type, or download one in Settings.");
      }
      if (files.voice) {
        try {
          synthesizer = await NeuralVoice.load(files.voice);
        } catch (error) {
          notices.push(
            `The voice could not be loaded (${(error as Error).message}); using the system voice.`,
          );
        }
      }
      synthesizer ??= new SystemVoice();
      const { vad, fallbackReason } = await loadVad(files.vad ?? undefined);
      if (fallbackReason) notices.push(`Voice activity detection uses loudness: ${fallbackReason}`);
      const math = await loadMathSpeech().catch(() => undefined);
      session = new VoiceSession({
        engine,
        ...(recognizer ? { recognizer } : {}),
        vad,
        synthesizer,
        sink: options.sink,
        language: speech.language,
        ...(speech.vocabularyPrompt ? { vocabularyPrompt: speech.vocabularyPrompt } : {}),
        speechRate: speech.rate,
        handsFree: {
          handsFree: speech.handsFree,
          pauseMs: speech.pauseMs,
          interruptBySpeaking: speech.interruptBySpeaking,
        },
        ...(math ? { math } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    engine,
    session,
    synthesizer,
    model: {
      path: config.files.llm,
      file: basename(config.files.llm),
      runsOn: describeDevice(engine.device, engine.gpuPlacement),
    },
    speechToText: recognizer && config.files.stt ? basename(config.files.stt) : null,
    notices,
    dispose,
  };
}
