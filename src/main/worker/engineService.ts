/**
 * The engine process's work: a ReasoningEngine and a VoiceSession driven by messages from the
 * main process. Plain Node (no Electron), so the dev harness can run it as a child process too.
 */
import { isDuetError } from "../../engine/errors.js";
import { ReasoningEngine } from "../../engine/reasoning/engine.js";
import { VoiceSession, type SessionEvent } from "../../engine/session/voiceSession.js";
import type { AudioSink } from "../../engine/speech/answerSpeaker.js";
import type { MonoAudio } from "../../engine/speech/pcm.js";
import { loadMathSpeech } from "../../engine/speech/speakable.js";
import { WhisperRecognizer, type SpeechRecognizer } from "../../engine/speech/stt.js";
import { NeuralVoice } from "../../engine/speech/tts/neuralVoice.js";
import type { SpeechSynthesizer } from "../../engine/speech/tts/synthesizer.js";
import { SystemVoice } from "../../engine/speech/tts/systemVoice.js";
import { loadVad } from "../../engine/speech/vad.js";
import type { AppEvent } from "../ipc/contract.js";
import type { FromWorker, ToWorker, WorkerConfig } from "./protocol.js";

/**
 * Plays through the window: each chunk is sent there, and the window reports when it started and
 * ended. If no window answers (it was closed), a chunk counts as played after its duration.
 */
export class WindowAudioSink implements AudioSink {
  private readonly pending = new Map<
    number,
    { resolve: (r: { completed: boolean }) => void; timer: NodeJS.Timeout }
  >();
  private current: { chunkId: number; startedAt: number } | undefined;

  constructor(private readonly send: (message: FromWorker) => void) {}

  play(audio: MonoAudio, chunkId: number): Promise<{ completed: boolean }> {
    this.send({ type: "audio", chunk: { chunkId, sampleRate: audio.sampleRate, samples: audio.samples } });
    const durationMs = (audio.samples.length * 1000) / audio.sampleRate;
    const queuedMs = this.pending.size * durationMs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.report(chunkId, "ended"), queuedMs + durationMs + 3000);
      this.pending.set(chunkId, { resolve, timer });
    });
  }

  report(chunkId: number, event: "started" | "ended" | "stopped"): void {
    if (event === "started") {
      this.current = { chunkId, startedAt: performance.now() };
      return;
    }
    const entry = this.pending.get(chunkId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(chunkId);
    if (this.current?.chunkId === chunkId) this.current = undefined;
    entry.resolve({ completed: event === "ended" });
  }

  stop(): number {
    const position = this.current ? performance.now() - this.current.startedAt : 0;
    this.send({ type: "event", event: { type: "audio-stop" } });
    for (const [, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.resolve({ completed: false });
    }
    this.pending.clear();
    this.current = undefined;
    return position;
  }
}

/** The file name at the end of a path (either separator). */
function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function toAppEvent(event: SessionEvent): AppEvent {
  if (event.type === "chunk") {
    const c = event.chunk;
    return {
      type: "chunk",
      chunk: {
        id: c.id,
        text: c.text,
        spoken: c.spoken,
        startToken: c.startToken,
        endToken: c.endToken,
        durationMs: c.durationMs,
        playStartMs: c.playStartMs,
        ...(c.error ? { error: c.error } : {}),
      },
    };
  }
  return event;
}

export class EngineService {
  private engine: ReasoningEngine | undefined;
  private session: VoiceSession | undefined;
  private recognizer: SpeechRecognizer | undefined;
  private synthesizer: SpeechSynthesizer | undefined;
  private sink: WindowAudioSink;
  private previewId = 1_000_000;

  constructor(private readonly send: (message: FromWorker) => void) {
    this.sink = new WindowAudioSink(send);
  }

  async handle(message: ToWorker): Promise<void> {
    try {
      switch (message.type) {
        case "start":
          await this.start(message.config, message.history);
          return;
        case "push-to-talk":
          if (message.down) this.requireSession().pushToTalkDown();
          else await this.requireSession().pushToTalkUp();
          return;
        case "text":
          this.requireSession().sendText(message.text);
          return;
        case "stop":
          this.session?.stop();
          return;
        case "audio":
          this.session?.audio(message.samples);
          return;
        case "playback":
          this.sink.report(message.chunkId, message.event);
          return;
        case "preview": {
          const speech = await this.requireSynthesizer().synthesize(message.text);
          this.send({
            type: "audio",
            chunk: { chunkId: this.previewId++, sampleRate: speech.sampleRate, samples: speech.samples },
          });
          return;
        }
      }
    } catch (error) {
      this.send({
        type: "event",
        event: {
          type: "error",
          stage: "engine",
          message: error instanceof Error ? error.message : String(error),
        },
      });
    }
  }

  private requireSession(): VoiceSession {
    if (!this.session) throw new Error("The model is not loaded yet.");
    return this.session;
  }

  private requireSynthesizer(): SpeechSynthesizer {
    if (!this.synthesizer) throw new Error("No voice is loaded yet.");
    return this.synthesizer;
  }

  private async open(config: WorkerConfig, gpu: WorkerConfig["gpu"]): Promise<ReasoningEngine> {
    return ReasoningEngine.open({
      modelPath: config.llmPath,
      gpu,
      gpuLayers: gpu === "cpu" ? 0 : config.gpuLayers,
      ...(config.threads ? { threads: config.threads } : {}),
      ...(config.contextSize ? { contextSize: config.contextSize } : {}),
      layout: config.layout,
      mode: config.mode,
      probeInterval: config.probeInterval,
      safety: config.safety,
      maxSteps: config.maxSteps,
    });
  }

  private async start(
    config: WorkerConfig,
    history: ReadonlyArray<{ user: string; answer: string }>,
  ): Promise<void> {
    await this.dispose();
    this.send({
      type: "status",
      engine: { status: "loading", message: `Loading ${fileName(config.llmPath)}…` },
    });
    const notices: string[] = [];
    try {
      try {
        this.engine = await this.open(config, config.gpu);
      } catch (error) {
        if (
          config.gpu === "cpu" ||
          isDuetError(error, "unsupported-architecture") ||
          isDuetError(error, "unknown-prompt-family")
        )
          throw error;
        // A GPU backend that fails falls back to the CPU, and says why.
        notices.push(`The ${config.gpu} backend failed (${(error as Error).message}); running on the CPU.`);
        this.engine = await this.open(config, "cpu");
      }
      this.engine.restoreHistory(history);
      if (config.sttPath) {
        try {
          this.recognizer = await WhisperRecognizer.load(config.sttPath, { gpu: config.gpu !== "cpu" });
        } catch (error) {
          notices.push(`Speech-to-text is off: ${(error as Error).message}`);
        }
      } else {
        notices.push("No speech-to-text model is installed: type, or download one in the settings.");
      }
      if (config.voicePath) {
        try {
          this.synthesizer = await NeuralVoice.load(config.voicePath);
        } catch (error) {
          notices.push(
            `The voice could not be loaded (${(error as Error).message}); using the system voice.`,
          );
        }
      }
      this.synthesizer ??= new SystemVoice();
      const { vad, fallbackReason } = await loadVad(config.vadPath);
      if (fallbackReason)
        notices.push(`Voice activity detection uses the energy fallback: ${fallbackReason}`);
      const math = await loadMathSpeech().catch(() => undefined);
      const session = new VoiceSession({
        engine: this.engine,
        ...(this.recognizer ? { recognizer: this.recognizer } : {}),
        vad,
        synthesizer: this.synthesizer,
        sink: this.sink,
        language: config.language,
        ...(config.vocabularyPrompt ? { vocabularyPrompt: config.vocabularyPrompt } : {}),
        speechRate: config.rate,
        ...(math ? { math } : {}),
      });
      session.on((event) => {
        this.send({ type: "event", event: toAppEvent(event) });
        if (event.type === "metrics" || (event.type === "state" && event.state === "idle")) {
          this.send({ type: "history", history: [...(this.engine?.history ?? [])] });
        }
      });
      this.session = session;
      this.send({
        type: "status",
        engine: {
          status: "ready",
          model: fileName(config.llmPath),
          voice: this.synthesizer.name,
          speechToText: this.recognizer && config.sttPath ? fileName(config.sttPath) : null,
          notices,
        },
      });
    } catch (error) {
      await this.dispose();
      this.send({
        type: "status",
        engine: { status: "failed", message: error instanceof Error ? error.message : String(error) },
      });
    }
  }

  async dispose(): Promise<void> {
    this.session?.stop();
    this.session = undefined;
    await this.recognizer?.dispose().catch(() => undefined);
    this.recognizer = undefined;
    await this.synthesizer?.dispose().catch(() => undefined);
    this.synthesizer = undefined;
    await this.engine?.dispose().catch(() => undefined);
    this.engine = undefined;
  }
}
