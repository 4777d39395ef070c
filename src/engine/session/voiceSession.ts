import { DuetError, isDuetError } from "../errors.js";
import { computeDelays, summarizeDelays } from "../metrics/delays.js";
import type { ReasoningEngine } from "../reasoning/engine.js";
import type { TurnMetrics } from "../reasoning/events.js";
import type { Turn } from "../reasoning/turn/handle.js";
import { AnswerSpeaker, type AudioSink } from "../speech/answerSpeaker.js";
import { LiveTranscriber } from "../speech/liveTranscriber.js";
import { STT_SAMPLE_RATE } from "../speech/pcm.js";
import type { SpeechRecognizer } from "../speech/stt.js";
import type { SpeechSynthesizer } from "../speech/tts/synthesizer.js";
import type { VoiceActivityDetector } from "../speech/vad.js";
import { HandsFreeListener, type HandsFreeAction, type HandsFreeGate } from "./handsFree.js";

export type { ErrorStage, SessionEvent, SessionState, VoiceTurnMetrics } from "../../shared/session.js";
import type { ErrorStage, SessionEvent, SessionState, VoiceTurnMetrics } from "../../shared/session.js";

/** LiveTranscriber's default recording limit (10 minutes). */
const MAX_QUEUED_KEY_SAMPLES = 600 * STT_SAMPLE_RATE;

export interface VoiceSessionOptions {
  engine: ReasoningEngine;
  /** Needed for push-to-talk; text input works without it. */
  recognizer?: SpeechRecognizer;
  vad: VoiceActivityDetector;
  synthesizer: SpeechSynthesizer;
  sink: AudioSink;
  language?: string;
  vocabularyPrompt?: string;
  tokensPerChunk?: number;
  speechRate?: number;
  math?: (latex: string) => string;
  /** Milliseconds, monotonic. Default performance.now. */
  now?: () => number;
  /** Hands-free listening (changed later with setHandsFree). Default off. */
  handsFree?: HandsFreeSettings;
}

/** The settings of hands-free conversation (src/shared/settings.ts, `speech`). */
export interface HandsFreeSettings {
  handsFree: boolean;
  pauseMs: number;
  interruptBySpeaking: boolean;
}

interface ActiveTurn {
  turn: Turn;
  startedAt: number;
  /** When the user finished speaking (or sent text), ms from the turn start. */
  releaseMs: number | null;
  sttMs: number | null;
  speakers: AnswerSpeaker[];
  engineDone: boolean;
  metrics?: TurnMetrics;
}

/**
 * One conversation with voice: a UI drives it with intents (push-to-talk down/up, audio frames,
 * text) and observes typed events. While push-to-talk is held, partial transcripts reach the
 * engine (the thinker may start); on release the final transcript closes the input and the writer
 * may start; its answer is spoken chunk by chunk. Pressing push-to-talk while it speaks stops the
 * audio at once, keeps only what was heard, and the new words enter as an interjection. Words said
 * while the last ones are still being transcribed (push-to-talk pressed again, or hands-free) wait
 * and become the next turn once that transcript is in.
 */
export class VoiceSession {
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private stateValue: SessionState = "idle";
  private transcriber: LiveTranscriber | undefined;
  private active: ActiveTurn | undefined;
  /** The turn was interrupted and the next release brings an interjection. */
  private interjecting = false;
  private idleWaiters: Array<() => void> = [];
  /** The listening turn, when it waits for the previous turn to end. */
  private pendingStart: Promise<void> | undefined;
  private readonly now: () => number;
  /** Bumped by stop(): a typed question queued before it must not start after it. */
  private generation = 0;
  private handsFreeSettings: HandsFreeSettings;
  private listener: HandsFreeListener | undefined;
  /** The turn that is listening was started by the hands-free listener (not push-to-talk). */
  private listeningHandsFree = false;
  /**
   * The last utterance is being finished (its final transcript decoded, its turn handed to the
   * engine); settles when the next turn may start.
   */
  private finishing: Promise<void> | undefined;
  /** Push-to-talk pressed while the last utterance was being finished: its audio, until it starts. */
  private queuedKey: { frames: Float32Array[]; samples: number; released: boolean } | undefined;

  constructor(private readonly options: VoiceSessionOptions) {
    this.now = options.now ?? (() => performance.now());
    this.handsFreeSettings = options.handsFree ?? {
      handsFree: false,
      pauseMs: 800,
      interruptBySpeaking: true,
    };
    this.setHandsFree(this.handsFreeSettings);
  }

  /**
   * Turns hands-free listening on or off, or changes its pause and whether talking over the
   * answer interrupts it. Applies at once; nothing is reloaded.
   */
  setHandsFree(settings: HandsFreeSettings): void {
    this.handsFreeSettings = { ...settings };
    if (!settings.handsFree) {
      this.listener?.dispose();
      this.listener = undefined;
      // An utterance under way ends as if the user had paused.
      if (this.listeningHandsFree) {
        this.listeningHandsFree = false;
        void this.endUtterance(true);
      }
      return;
    }
    if (this.listener) this.listener.pauseMs = settings.pauseMs;
    else
      this.listener = new HandsFreeListener({ stream: this.options.vad.stream(), pauseMs: settings.pauseMs });
  }

  get handsFree(): Readonly<HandsFreeSettings> {
    return this.handsFreeSettings;
  }

  on(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get state(): SessionState {
    return this.stateValue;
  }

  private emit(event: SessionEvent): void {
    for (const l of this.listeners) l(event);
  }

  private setState(state: SessionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.emit({ type: "state", state });
    if (state === "idle") for (const w of this.idleWaiters.splice(0)) w();
  }

  private error(stage: ErrorStage, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.emit({ type: "error", stage, message, ...(isDuetError(error) ? { code: error.code } : {}) });
  }

  /** Resolves when the session is idle (answer spoken, nothing pending). */
  whenIdle(): Promise<void> {
    if (this.stateValue === "idle") return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private turnClock(active: ActiveTurn): () => number {
    return () => this.now() - active.startedAt;
  }

  /** Stops the voice now; returns answer tokens heard in the current turn. */
  private silence(): number {
    return this.active?.speakers.at(-1)?.stop() ?? 0;
  }

  private newSpeaker(active: ActiveTurn, firstToken: number): AnswerSpeaker {
    const speaker = new AnswerSpeaker({
      synthesizer: this.options.synthesizer,
      sink: this.options.sink,
      clock: this.turnClock(active),
      firstToken,
      ...(this.options.tokensPerChunk ? { tokensPerChunk: this.options.tokensPerChunk } : {}),
      ...(this.options.speechRate ? { rate: this.options.speechRate } : {}),
      ...(this.options.math ? { math: this.options.math } : {}),
      onChunk: (chunk) => {
        this.emit({ type: "chunk", chunk });
      },
      onPlayStart: (chunk) => this.emit({ type: "speaking", chunk: { ...chunk } }),
      onError: (error) => this.error("tts", error),
    });
    active.speakers.push(speaker);
    return speaker;
  }

  /** Starts an engine turn and wires its answer to a speaker. */
  private startTurn(text: string, inputOpen: boolean): ActiveTurn {
    const turn = this.options.engine.startTurn({ text, inputOpen });
    const active: ActiveTurn = {
      turn,
      startedAt: this.now(),
      releaseMs: inputOpen ? null : 0,
      sttMs: null,
      speakers: [],
      engineDone: false,
    };
    this.active = active;
    this.newSpeaker(active, 0);
    turn.on((event) => {
      this.emit({ type: "turn", event });
      if (event.type === "answer") {
        const speaker = active.speakers.at(-1)!;
        speaker.push({ text: event.text, timeMs: event.timeMs });
        if (this.stateValue === "thinking") this.setState("speaking");
      } else if (event.type === "interjection") {
        // The answer resumes after the heard part: a fresh speaker continues from there.
        this.newSpeaker(active, event.keptAnswerTokens);
      } else if (event.type === "end" && event.error) {
        this.error(
          "engine",
          new DuetError(
            event.error.code === "internal" ? "decode-failed" : event.error.code,
            event.error.message,
          ),
        );
      }
    });
    void turn.done.then(async (result) => {
      active.metrics = result.metrics;
      active.engineDone = true;
      await active.speakers.at(-1)!.end();
      if (this.active !== active) return;
      this.emit({ type: "metrics", metrics: this.metrics(active) });
      this.active = undefined;
      // Idle only when no new turn waits to start after this one.
      if (this.stateValue !== "listening" && !this.pendingStart) this.setState("idle");
    });
    return active;
  }

  private metrics(active: ActiveTurn): VoiceTurnMetrics {
    const m = active.metrics!;
    const chunks = active.speakers.flatMap((s) => s.chunks).filter((c) => c.durationMs !== null);
    const origin = active.releaseMs ?? 0;
    const ready = chunks.map((c) => Math.max(0, c.writtenMs + (c.synthMs ?? 0) - origin) / 1000);
    const delays = summarizeDelays(
      computeDelays(
        ready,
        chunks.map((c) => (c.durationMs ?? 0) / 1000),
      ),
    );
    let heardSilence = 0;
    let cursor = origin;
    for (const c of chunks) {
      if (c.playStartMs === null) continue;
      heardSilence += Math.max(0, c.playStartMs - cursor);
      cursor = c.playEndMs ?? c.playStartMs + (c.durationMs ?? 0);
    }
    const firstPlay = chunks.find((c) => c.playStartMs !== null)?.playStartMs ?? null;
    const answerSpanMs = m.writerTokens > 1 && m.ttftMs !== null ? m.totalMs - m.ttftMs : 0;
    return {
      releaseToFirstAudioMs: firstPlay === null ? null : firstPlay - origin,
      sttMs: active.sttMs,
      ttftMs: m.ttftMs === null ? null : m.ttftMs - origin,
      stft: m.stft,
      stepsDelay: m.stepsDelay,
      totalDelay: delays.totalDelay,
      adjustedDelay: delays.adjustedDelay,
      heardSilence: heardSilence / 1000,
      answerTokensPerSecond: answerSpanMs > 0 ? (m.writerTokens * 1000) / answerSpanMs : 0,
      stepsPerSecond: m.stepsPerSecond,
      thinkerTokens: m.thinkerTokens,
      writerTokens: m.writerTokens,
      heardTokens: active.speakers.at(-1)?.heardTokens ?? 0,
      chunks: chunks.length,
      thoughtLagMean: m.thoughtLagMean,
      thoughtLagMax: m.thoughtLagMax,
      endReason: m.endReason,
    };
  }

  /** Push-to-talk pressed. While the assistant speaks, this is a barge-in. */
  pushToTalkDown(): void {
    if (this.finishing) {
      // The last utterance is still being transcribed: this one starts as soon as that is done,
      // with everything said meanwhile. The key decides: what hands-free held is its beginning.
      if (!this.queuedKey) {
        const held = this.listener?.takeHeld() ?? [];
        this.listener?.reset();
        this.queuedKey = { frames: held, samples: held.reduce((n, f) => n + f.length, 0), released: false };
      }
      return;
    }
    if (this.stateValue === "listening") return;
    const active = this.active;
    /** A turn that must end before the new one can start. */
    let ending: Promise<unknown> | undefined;
    if (active) {
      const heard = this.silence();
      if (!active.engineDone && active.turn.supportsInterjection) {
        active.turn.truncateAnswer(heard);
        this.interjecting = true;
      } else if (!active.engineDone) {
        // A turn that cannot take new words mid-way keeps what was heard and ends; the new words start a new turn.
        active.turn.truncateAnswer(heard);
        active.turn.stop();
        ending = active.turn.done;
      } else {
        // The answer was fully written but not fully heard: the conversation keeps what was heard.
        this.active = undefined;
        try {
          this.options.engine.truncateLastAnswer(heard);
        } catch (error) {
          this.error("engine", error);
        }
      }
    }
    if (!this.options.recognizer) {
      this.error(
        "stt",
        new DuetError(
          "model-not-found",
          "No speech-to-text model is loaded: download one in the settings, or type instead.",
        ),
      );
      return;
    }
    const transcriber = new LiveTranscriber({
      recognizer: this.options.recognizer,
      vad: this.options.vad,
      ...(this.options.language ? { language: this.options.language } : {}),
      ...(this.options.vocabularyPrompt ? { prompt: this.options.vocabularyPrompt } : {}),
      onPartial: (partial) => {
        this.emit({
          type: "transcript",
          committed: partial.committed,
          tentative: partial.tentative,
          final: false,
        });
        // Only the turn that is listening takes the words (not one still ending before it starts).
        const listening = this.active?.releaseMs === null ? this.active : undefined;
        if (!this.interjecting && listening && partial.committed) {
          try {
            listening.turn.updateInput(partial.committed);
          } catch (error) {
            this.error("engine", error);
          }
        }
      },
      onError: (error) => this.error("stt", error),
    });
    this.transcriber = transcriber;
    if (!this.interjecting) {
      const begin = (): void => {
        try {
          this.startTurn("", true);
        } catch (error) {
          this.error("engine", error);
        }
      };
      if (ending) {
        this.pendingStart = ending.then(
          () => {
            if (this.transcriber === transcriber) begin();
          },
          () => undefined,
        );
      } else begin();
    }
    this.setState("listening");
  }

  /**
   * 16 kHz mono samples from the microphone: while push-to-talk is held, or all the time in
   * hands-free mode, where the listener decides when the user's turn starts and ends.
   */
  audio(samples: Float32Array): void {
    const key = this.queuedKey;
    if (key) {
      // Bounded like a recording (LiveTranscriber's 10 minutes): the rest would be cut there anyway.
      if (key.samples < MAX_QUEUED_KEY_SAMPLES) {
        key.frames.push(samples.slice());
        key.samples += samples.length;
      }
      return;
    }
    const listener = this.listener;
    // Push-to-talk held while hands-free is on: the key decides.
    const keyHeld = this.stateValue === "listening" && !this.listeningHandsFree && !this.finishing;
    if (!listener || keyHeld) {
      // After release (while finishing) the recording is closed: nothing more goes into it.
      if (!this.finishing) this.transcriber?.push(samples);
      return;
    }
    this.follow(listener, listener.push(samples, this.handsFreeGate()));
  }

  /** Whether the hands-free listener may start a new turn now (see `HandsFreeGate`). */
  private handsFreeGate(): HandsFreeGate {
    // The last utterance is being finished: the next may start once that is done, so it is held.
    if (this.finishing || this.stateValue === "listening") return "soon";
    // The answer is audible and talking over it is off: what the microphone hears now is not a turn.
    if (this.stateValue === "speaking" && !this.handsFreeSettings.interruptBySpeaking) return "closed";
    return "open";
  }

  /** Does what the hands-free listener decided. */
  private follow(listener: HandsFreeListener, actions: HandsFreeAction[]): void {
    for (const action of actions) {
      if (action.type === "start") {
        this.pushToTalkDown();
        if (this.stateValue !== "listening") {
          listener.reset();
          return;
        }
        this.listeningHandsFree = true;
        for (const frame of action.audio) this.transcriber?.push(frame);
      } else if (action.type === "audio") {
        this.transcriber?.push(action.samples);
      } else {
        this.listeningHandsFree = false;
        void this.endUtterance(true);
      }
    }
  }

  /**
   * Push-to-talk released: the final transcript goes to the engine. Resolves once it is there.
   * The window also sends it when the microphone is muted during a hands-free utterance.
   */
  pushToTalkUp(): Promise<void> {
    // An utterance the hands-free listener started stays one when the key or muting ends it.
    return this.endUtterance(this.listeningHandsFree);
  }

  /**
   * Ends the utterance under way. `handsFree`: the hands-free listener started it, so one that
   * gives no words was noise (a cough, a door, the television), not worth an error.
   */
  private async endUtterance(handsFree: boolean): Promise<void> {
    if (this.queuedKey && this.finishing) {
      this.queuedKey.released = true;
      // The queued utterance starts, and then finishes, when the last one is done.
      return this.finishing.then(() => this.finishing);
    }
    if (this.listeningHandsFree) {
      // Push-to-talk released during a hands-free utterance: the key ended it.
      this.listeningHandsFree = false;
      this.listener?.reset();
    }
    if (this.finishing) {
      // Released (or muted) while the last utterance is finished: what hands-free held meanwhile
      // ends here, else it would start a turn that no more audio comes to end.
      this.listener?.endHeld();
      return this.finishing;
    }
    const transcriber = this.transcriber;
    if (!transcriber || this.stateValue !== "listening") return;
    const finishing = this.finishThenContinue(transcriber, handsFree);
    this.finishing = finishing;
    return finishing;
  }

  /** Finishes the utterance, then starts the one said meanwhile (by key or hands-free), if any. */
  private async finishThenContinue(transcriber: LiveTranscriber, handsFree: boolean): Promise<void> {
    try {
      await this.finishListening(transcriber, handsFree);
    } finally {
      this.finishing = undefined;
      this.startWaitingUtterance();
    }
  }

  private startWaitingUtterance(): void {
    const key = this.queuedKey;
    if (key) {
      this.queuedKey = undefined;
      this.pushToTalkDown();
      for (const frame of key.frames) this.transcriber?.push(frame);
      if (key.released) void this.pushToTalkUp();
      return;
    }
    // Now, not at the next microphone frame; and even if the answer is audible by then: these words
    // were said before it could be heard, so they are the user's, not its echo.
    const listener = this.listener;
    if (listener && this.stateValue !== "listening") this.follow(listener, listener.open());
  }

  private async finishListening(transcriber: LiveTranscriber, handsFree: boolean): Promise<void> {
    const generation = this.generation;
    // The listening turn may still wait for the previous turn to end.
    await this.pendingStart;
    this.pendingStart = undefined;
    if (this.transcriber !== transcriber) return;
    this.transcriber = undefined;
    const active = this.active;
    const releasedAt = this.now();
    let text = "";
    let sttMs: number | null = null;
    let silent = true;
    try {
      const final = await transcriber.finish();
      // Stopped meanwhile: these words go nowhere.
      if (this.generation !== generation) return;
      text = final.text;
      silent = final.silent;
      sttMs = final.decodeMs;
      if (transcriber.truncated)
        this.error(
          "stt",
          new DuetError(
            "invalid-argument",
            "The recording was longer than 10 minutes; only the first 10 minutes were transcribed.",
          ),
        );
      this.emit({ type: "transcript", committed: text, tentative: "", final: true });
    } catch (error) {
      this.error("stt", error);
    }
    if (active) {
      active.releaseMs = releasedAt - active.startedAt;
      active.sttMs = sttMs;
    }
    const interjecting = this.interjecting;
    this.interjecting = false;
    try {
      if (!active) {
        this.setState("idle");
        return;
      }
      if (interjecting) {
        if (text) active.turn.interject(text);
        else active.turn.stop();
      } else {
        active.turn.closeInput(text);
      }
    } catch (error) {
      this.error("engine", error);
    }
    // Push-to-talk that gave no words says why; in hands-free mode noise is normal, so it says
    // nothing (the word-less turn leaves the conversation: src/shared/turnRecord.ts).
    if (!text && !handsFree) {
      this.error(
        "stt",
        new DuetError(
          "invalid-argument",
          silent
            ? "Nothing was heard. Hold the key while you speak."
            : "Speech was heard but no words were recognised. Try again, closer to the microphone.",
        ),
      );
    }
    this.setState(text || this.active ? "thinking" : "idle");
  }

  /** Typed input instead of speech (interrupts the answer if it is being spoken). */
  sendText(text: string): void {
    const trimmed = text.trim();
    if (!trimmed) {
      this.error("engine", new DuetError("invalid-argument", "The message is empty."));
      return;
    }
    const active = this.active;
    if (active) {
      const heard = this.silence();
      // Only a turn that can take new words mid-way gets them; otherwise a new turn starts.
      if (!active.engineDone && active.turn.supportsInterjection) {
        active.turn.truncateAnswer(heard);
        active.turn.interject(trimmed);
        this.setState("thinking");
        return;
      }
      if (!active.engineDone) {
        // The conversation keeps only what was heard of an answer cut short.
        active.turn.truncateAnswer(heard);
        active.turn.stop();
      } else {
        this.active = undefined;
        this.options.engine.truncateLastAnswer(heard);
      }
    }
    const start = () => {
      try {
        this.startTurn(trimmed, false);
        this.setState("thinking");
      } catch (error) {
        this.error("engine", error);
      }
    };
    if (active && !active.engineDone) {
      // The engine takes the new turn once the old one has ended and been committed, unless
      // the session was stopped in between.
      const generation = this.generation;
      const startAfter = () => {
        if (this.pendingStart === pending) this.pendingStart = undefined;
        if (this.generation === generation) start();
      };
      const pending: Promise<void> = active.turn.done.then(startAfter, startAfter);
      this.pendingStart = pending;
      this.setState("thinking");
    } else start();
  }

  /** Stops speaking and thinking. */
  stop(): void {
    this.generation++;
    this.transcriber?.cancel();
    this.transcriber = undefined;
    this.queuedKey = undefined;
    this.interjecting = false;
    // A listening turn waiting for the previous one to end will not start.
    this.pendingStart = undefined;
    this.listeningHandsFree = false;
    this.listener?.reset();
    this.silence();
    this.active?.turn.stop();
    // Nothing listens any more (words being transcribed are dropped, see finishListening): idle
    // once the stopped turn has ended.
    if (this.stateValue === "listening") this.setState(this.active ? "thinking" : "idle");
  }

  /**
   * Stops everything and continues another conversation: the engine takes `history` as the
   * conversation so far (the model stays loaded).
   */
  async restart(history: ReadonlyArray<{ user: string; answer: string }>): Promise<void> {
    this.stop();
    this.interjecting = false;
    this.pendingStart = undefined;
    const active = this.active;
    this.active = undefined;
    if (active) await active.turn.done.catch(() => undefined);
    this.options.engine.restoreHistory(history);
    this.setState("idle");
  }
}
