import { STT_SAMPLE_RATE } from "../speech/pcm.js";
import type { SpeechStream } from "../speech/vad.js";

export interface HandsFreeListenerOptions {
  /** Live speech detection (Silero, or loudness when its model is missing). */
  stream: SpeechStream;
  /** This much silence after speech ends the user's turn. */
  pauseMs: number;
  /** Speech must last this long to start a turn (a cough or a door does not). Default 200 ms. */
  minSpeechMs?: number;
  /** Audio kept from just before speech was detected, so the first word is not cut. Default 500 ms. */
  preRollMs?: number;
  /** The most speech held while a new turn cannot start yet (see `HandsFreeGate`). Default 30 s. */
  maxHeldMs?: number;
  sampleRate?: number;
}

/**
 * Whether the user may start a new turn now.
 * - "open": yes.
 * - "soon": not yet, but shortly (the previous utterance is being transcribed or handed to the
 *   engine). Speech that begins now is held, from its pre-roll, and becomes the next turn when the
 *   gate opens: the user does not wait for the transcriber, so nothing they say is lost.
 * - "closed": no (the answer is audible and talking over it is off). Speech now is probably the
 *   voice's own echo or someone else in the room: it starts nothing and is not kept.
 */
export type HandsFreeGate = "open" | "soon" | "closed";

/** What the voice session should do with the microphone audio it was given. */
export type HandsFreeAction =
  /** The user started speaking: listen, beginning with this audio (from before the detection). */
  | { type: "start"; audio: Float32Array[] }
  /** More of the user's speech. */
  | { type: "audio"; samples: Float32Array }
  /** The user paused long enough: their turn is over. */
  | { type: "end" };

/** Speech heard while the gate was "soon", waiting to become the next turn. */
interface HeldUtterance {
  frames: Float32Array[];
  samples: number;
  /** Silence since its last speech; at the pause the utterance is complete. */
  silenceSamples: number;
  ended: boolean;
}

/**
 * Hands-free turn taking: decides from the microphone's audio alone when the user starts and stops
 * speaking. Time is counted in samples, so the same audio always gives the same turns.
 */
export class HandsFreeListener {
  private readonly rate: number;
  private speaking = false;
  /** Audio from before the detection (the pre-roll), while not speaking. */
  private recent: Float32Array[] = [];
  private recentSamples = 0;
  private speechSamples = 0;
  private silenceSamples = 0;
  private pauseSamples: number;
  private held: HeldUtterance | undefined;

  constructor(private readonly options: HandsFreeListenerOptions) {
    this.rate = options.sampleRate ?? STT_SAMPLE_RATE;
    this.pauseSamples = this.samples(options.pauseMs);
  }

  private samples(ms: number): number {
    return Math.round((ms * this.rate) / 1000);
  }

  /** Whether the user is speaking (a turn started and has not paused long enough yet). */
  get inSpeech(): boolean {
    return this.speaking;
  }

  set pauseMs(ms: number) {
    this.pauseSamples = this.samples(ms);
  }

  /**
   * Takes the next microphone frame. `gate` says whether a new turn may start now; a turn already
   * under way always goes on, whatever the gate.
   */
  push(samples: Float32Array, gate: HandsFreeGate): HandsFreeAction[] {
    const voice = this.options.stream.accept(samples);
    if (this.speaking) {
      this.silenceSamples = voice ? 0 : this.silenceSamples + samples.length;
      if (this.silenceSamples >= this.pauseSamples) {
        this.reset();
        return [{ type: "audio", samples }, { type: "end" }];
      }
      return [{ type: "audio", samples }];
    }
    if (gate === "closed") {
      // Not the user's turn, and it will not become one: what was held goes too.
      this.held = undefined;
      this.listenForOnset(samples, voice);
      return [];
    }
    const held = this.held;
    if (held && !held.ended) {
      this.hold(held, [samples.slice()], voice ? 0 : held.silenceSamples + samples.length);
    } else if (this.listenForOnset(samples, voice)) {
      if (gate === "open" && !held) return [this.startWith(this.takeRecent(), 0)];
      // A second utterance begun while still waiting joins the held one: one question, nothing lost.
      this.held ??= { frames: [], samples: 0, silenceSamples: 0, ended: false };
      this.held.ended = false;
      this.hold(this.held, this.takeRecent(), 0);
    }
    return gate === "open" ? this.open() : [];
  }

  /**
   * The gate is open (it may have opened between frames): the held speech, if any, becomes a
   * turn now. Its pre-roll and every frame since come in `start`; if it already ended with a
   * pause, `end` follows at once.
   */
  open(): HandsFreeAction[] {
    const held = this.held;
    if (!held) return [];
    this.held = undefined;
    // Said and finished while waiting: a whole turn at once (detection goes on with what follows).
    if (held.ended) return [{ type: "start", audio: held.frames }, { type: "end" }];
    return [this.startWith(held.frames, held.silenceSamples)];
  }

  /**
   * The held speech ends here, pause or not (the microphone was muted, so no pause would come):
   * it becomes a whole turn when the gate opens.
   */
  endHeld(): void {
    if (!this.held) return;
    this.held.ended = true;
    this.speechSamples = 0;
  }

  /** Hands over the held speech, from its pre-roll, and forgets it (push-to-talk took over). */
  takeHeld(): Float32Array[] {
    const frames = this.held?.frames ?? [];
    this.held = undefined;
    return frames;
  }

  private startWith(audio: Float32Array[], silenceSamples: number): HandsFreeAction {
    this.speaking = true;
    this.silenceSamples = silenceSamples;
    this.speechSamples = 0;
    return { type: "start", audio };
  }

  /** Keeps the pre-roll and counts speech; true once speech has lasted long enough for a turn. */
  private listenForOnset(samples: Float32Array, voice: boolean): boolean {
    this.keepRecent(samples);
    this.speechSamples = voice ? this.speechSamples + samples.length : 0;
    return this.speechSamples >= this.samples(this.options.minSpeechMs ?? 200);
  }

  private takeRecent(): Float32Array[] {
    const audio = this.recent;
    this.recent = [];
    this.recentSamples = 0;
    return audio;
  }

  /**
   * Adds frames to the held utterance. It is capped (30 s by default) so that memory stays bounded
   * when the wait is long (a slow or stuck transcription) or the sound never pauses (a television):
   * the oldest audio goes first, so what is handed over stays one stretch of audio that ends now,
   * and 30 s is also all that one speech-recognition window hears.
   */
  private hold(held: HeldUtterance, frames: Float32Array[], silenceSamples: number): void {
    for (const frame of frames) {
      held.frames.push(frame);
      held.samples += frame.length;
    }
    held.silenceSamples = silenceSamples;
    if (held.silenceSamples >= this.pauseSamples) {
      held.ended = true;
      this.speechSamples = 0;
    }
    const cap = this.samples(this.options.maxHeldMs ?? 30_000);
    while (held.frames.length > 1 && held.samples - held.frames[0]!.length >= cap)
      held.samples -= held.frames.shift()!.length;
    if (held.samples > cap) {
      held.frames[0] = held.frames[0]!.slice(held.samples - cap);
      held.samples = cap;
    }
  }

  private keepRecent(samples: Float32Array): void {
    this.recent.push(samples.slice());
    this.recentSamples += samples.length;
    const keep = this.samples(this.options.preRollMs ?? 500);
    while (this.recent.length > 1 && this.recentSamples - this.recent[0]!.length >= keep) {
      this.recentSamples -= this.recent.shift()!.length;
    }
  }

  /** Forgets the utterance under way and any held one (push-to-talk took over, the session stopped). */
  reset(): void {
    this.speaking = false;
    this.speechSamples = 0;
    this.silenceSamples = 0;
    this.recent = [];
    this.recentSamples = 0;
    this.held = undefined;
    this.options.stream.reset();
  }

  dispose(): void {
    this.options.stream.dispose();
  }
}
