/**
 * The engine process's work: the assistant (openAssistant) driven by messages from the main
 * process. Plain Node (no Electron), so the dev harness can run it as a child process too.
 */
import { basename } from "node:path";
import { openAssistant, type Assistant } from "../../engine/session/assistant.js";
import { assistantConfigSchema } from "../../engine/session/config.js";
import type { VoiceSession } from "../../engine/session/voiceSession.js";
import type { AudioSink } from "../../engine/speech/answerSpeaker.js";
import type { MonoAudio } from "../../engine/speech/pcm.js";
import type { SpeechSynthesizer } from "../../engine/speech/tts/synthesizer.js";
import type { PlaybackEvent } from "../../shared/ipc/contract.js";
import type { FromWorker, ToWorker } from "./protocol.js";

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

  report(chunkId: number, event: PlaybackEvent): void {
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

export class EngineService {
  private assistant: Assistant | undefined;
  private readonly sink: WindowAudioSink;
  private previewId = 1_000_000;
  /** The conversation the engine holds (named in every history message). */
  private conversation = "";

  constructor(private readonly send: (message: FromWorker) => void) {
    this.sink = new WindowAudioSink(send);
  }

  async handle(message: ToWorker): Promise<void> {
    try {
      switch (message.type) {
        case "start":
          this.conversation = message.conversation;
          await this.start(message.config, message.history);
          return;
        case "restore": {
          this.conversation = message.conversation;
          const assistant = this.assistant;
          if (!assistant) {
            // Nothing loaded (a failed start): the switch is done; the next start takes the history.
            this.send({ type: "history", history: message.history, conversation: message.conversation });
            return;
          }
          if (assistant.session) await assistant.session.restart(message.history);
          else assistant.engine.restoreHistory(message.history);
          this.sendHistory(assistant);
          return;
        }
        case "session-options":
          this.assistant?.session?.setHandsFree(message.handsFree);
          return;
        case "push-to-talk":
          if (message.down) this.requireSession().pushToTalkDown();
          else await this.requireSession().pushToTalkUp();
          return;
        case "text":
          this.requireSession().sendText(message.text);
          return;
        case "stop":
          this.assistant?.session?.stop();
          return;
        case "audio":
          this.assistant?.session?.audio(message.samples);
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
    if (!this.assistant?.session) throw new Error("The model is not loaded yet.");
    return this.assistant.session;
  }

  private requireSynthesizer(): SpeechSynthesizer {
    if (!this.assistant?.synthesizer) throw new Error("No voice is loaded yet.");
    return this.assistant.synthesizer;
  }

  private async start(
    rawConfig: unknown,
    history: ReadonlyArray<{ user: string; answer: string }>,
  ): Promise<void> {
    await this.dispose();
    const parsed = assistantConfigSchema.safeParse(rawConfig);
    if (!parsed.success) {
      this.send({
        type: "status",
        engine: {
          status: "failed",
          message: `The engine was started with an invalid configuration: ${parsed.error.message}`,
        },
      });
      return;
    }
    const config = parsed.data;
    this.send({
      type: "status",
      engine: { status: "loading", message: `Loading ${basename(config.files.llm)}…` },
    });
    try {
      const assistant = await openAssistant(config, { sink: this.sink, history });
      this.assistant = assistant;
      assistant.session!.on((event) => {
        this.send({ type: "event", event });
        if (event.type === "metrics" || (event.type === "state" && event.state === "idle")) {
          this.sendHistory(assistant);
        }
      });
      this.sendHistory(assistant);
      this.send({
        type: "status",
        engine: {
          status: "ready",
          model: assistant.model.file,
          modelPath: assistant.model.path,
          runsOn: assistant.model.runsOn,
          voice: assistant.synthesizer?.name ?? "none",
          speechToText: assistant.speechToText,
          notices: [...assistant.notices],
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

  private sendHistory(assistant: Assistant): void {
    this.send({ type: "history", history: [...assistant.engine.history], conversation: this.conversation });
  }

  async dispose(): Promise<void> {
    const assistant = this.assistant;
    this.assistant = undefined;
    await assistant?.dispose();
  }
}
