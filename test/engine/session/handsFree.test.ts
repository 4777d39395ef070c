import { afterAll, describe, expect, it } from "vitest";
import { ReasoningEngine } from "../../../src/engine/reasoning/engine.js";
import {
  HandsFreeListener,
  type HandsFreeAction,
  type HandsFreeGate,
} from "../../../src/engine/session/handsFree.js";
import { VoiceSession, type SessionEvent } from "../../../src/engine/session/voiceSession.js";
import { TimelineSink } from "../../../src/engine/speech/answerSpeaker.js";
import { rms, type MonoAudio } from "../../../src/engine/speech/pcm.js";
import type { SpeechRecognizer, Transcription } from "../../../src/engine/speech/stt.js";
import type { SpeechSynthesizer, SynthesizedSpeech } from "../../../src/engine/speech/tts/synthesizer.js";
import { EnergyVad, SileroVad, type SpeechStream } from "../../../src/engine/speech/vad.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { emptyTurns, reduceTurns, turnList } from "../../../src/shared/turnRecord.js";
import { fakeEngine, repeat } from "../../helpers/fakeEngine.js";
import { joinWavs, loadSpeech, silenceWav, spokenWav } from "../../helpers/audio.js";
import { tinyModelPath } from "../../helpers/models.js";
import { sileroModelForTests } from "../../helpers/sileroModel.js";
import { Gate } from "../../helpers/gate.js";

const RATE = 16000;
const FRAME = 320; // 20 ms

/** A tone burst that the energy detector hears as speech, with a little noise floor before it. */
const voiced = (ms: number) =>
  Float32Array.from(
    { length: (ms * RATE) / 1000 },
    (_, i) => 0.3 * Math.sin(i / 3) * (i % 800 < 700 ? 1 : 0.6),
  );
const quiet = (ms: number) =>
  Float32Array.from({ length: (ms * RATE) / 1000 }, (_, i) => 0.001 * Math.sin(i));

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds audio in 20 ms frames; returns every action with the time (ms) of the frame that caused it. */
function run(
  listener: HandsFreeListener,
  audio: Float32Array,
  gate: (ms: number) => HandsFreeGate = () => "open",
) {
  const actions: Array<HandsFreeAction & { ms: number }> = [];
  for (let at = 0; at + FRAME <= audio.length; at += FRAME) {
    const ms = ((at + FRAME) * 1000) / RATE;
    for (const action of listener.push(audio.subarray(at, at + FRAME), gate(ms)))
      actions.push({ ...action, ms });
  }
  return actions;
}

// Without registry access (no Silero model) the Silero case is skipped; CI must have it.
const silero = await sileroModelForTests();
if ("unavailable" in silero && process.env.CI)
  throw new Error(`The Silero test model is unavailable: ${silero.unavailable}`);

const kinds = (actions: HandsFreeAction[]) => actions.filter((a) => a.type !== "audio").map((a) => a.type);

describe("hands-free turn taking", () => {
  it("starts a turn when speech starts (with the audio from just before) and ends it after the pause", () => {
    const listener = new HandsFreeListener({ stream: new EnergyVad().stream(), pauseMs: 800 });
    // 0.6 s quiet, 1 s speech, a 0.4 s breath (shorter than the pause), 0.6 s speech, 1.2 s quiet.
    const audio = concat([quiet(600), voiced(1000), quiet(400), voiced(600), quiet(1200)]);
    const actions = run(listener, audio);
    expect(kinds(actions)).toEqual(["start", "end"]);
    const start = actions.find((a) => a.type === "start") as Extract<HandsFreeAction, { type: "start" }> & {
      ms: number;
    };
    // Detected after the 200 ms of speech it needs, handing over half a second from before.
    expect(start.ms).toBeCloseTo(800, -2);
    const preRoll = start.audio.reduce((n, f) => n + f.length, 0);
    expect(preRoll).toBeGreaterThanOrEqual(0.5 * RATE);
    expect(preRoll).toBeLessThanOrEqual(0.5 * RATE + FRAME);
    // The turn ends one pause after the last speech: 0.6 + 1 + 0.4 + 0.6 = 2.6 s, plus 0.8 s.
    expect(actions.at(-1)!.ms).toBeCloseTo(3400, -2);
    const forwarded = actions.filter((a) => a.type === "audio").length * FRAME + preRoll;
    expect(forwarded / RATE).toBeCloseTo(3.4 - 0.3, 1);
  });

  it("a shorter pause splits the same speech into two turns, and clicks start nothing", () => {
    const listener = new HandsFreeListener({ stream: new EnergyVad().stream(), pauseMs: 300 });
    const audio = concat([
      quiet(600),
      voiced(60),
      quiet(600),
      voiced(1000),
      quiet(400),
      voiced(600),
      quiet(600),
    ]);
    expect(kinds(run(listener, audio))).toEqual(["start", "end", "start", "end"]);
  });

  it("does not start while it may not (the answer is audible and talking over it is off), but goes on once started", () => {
    const listener = new HandsFreeListener({ stream: new EnergyVad().stream(), pauseMs: 500 });
    const audio = concat([quiet(500), voiced(800), quiet(800), voiced(800), quiet(800)]);
    // Speaking is allowed only from 2 s on: the first utterance is ignored, the second is a turn.
    const actions = run(listener, audio, (ms) => (ms >= 2000 ? "open" : "closed"));
    expect(kinds(actions)).toEqual(["start", "end"]);
    expect(actions[0]!.ms).toBeGreaterThan(2100);
  });

  it.skipIf(!("path" in silero))("finds the same turns with Silero on real speech", async () => {
    const vad = await SileroVad.load("path" in silero ? silero.path : "");
    const listener = new HandsFreeListener({ stream: vad.stream(), pauseMs: 700 });
    const speech = loadSpeech(
      joinWavs([
        silenceWav(0.5),
        spokenWav("What is two plus two"),
        silenceWav(1.2),
        spokenWav("Tell me a joke"),
        silenceWav(1),
      ]),
    ).samples;
    expect(kinds(run(listener, speech))).toEqual(["start", "end", "start", "end"]);
    vad.dispose();
  });
});

/** Detection scripted by time: speech in the given spans (ms, from the first sample it was given). */
class ScriptedStream implements SpeechStream {
  private at = 0;
  constructor(private readonly speech: ReadonlyArray<readonly [number, number]>) {}
  accept(samples: Float32Array): boolean {
    const ms = (this.at * 1000) / RATE;
    this.at += samples.length;
    return this.speech.some(([from, to]) => ms >= from && ms < to);
  }
  // Time goes on across turns: a reset forgets nothing here.
  reset(): void {}
  dispose(): void {}
}

/** `ms` of audio whose every sample is its own index: what was handed over can be checked exactly. */
const numbered = (ms: number) => Float32Array.from({ length: (ms * RATE) / 1000 }, (_, i) => i);
const sampleAt = (ms: number) => (ms * RATE) / 1000;
/** Sample indices from `fromMs` (inclusive) to `toMs` (exclusive). */
const range = (fromMs: number, toMs: number) =>
  Float32Array.from({ length: sampleAt(toMs) - sampleAt(fromMs) }, (_, i) => sampleAt(fromMs) + i);

type Timed = HandsFreeAction & { ms: number };
const startAudio = (action: Timed | undefined) => {
  expect(action?.type).toBe("start");
  return concat((action as Extract<HandsFreeAction, { type: "start" }>).audio);
};
/** Everything handed over for the turn: the start's audio and the frames after it. */
const turnAudio = (actions: Timed[]) =>
  concat(actions.flatMap((a) => (a.type === "start" ? a.audio : a.type === "audio" ? [a.samples] : [])));

describe("hands-free turn taking while a new turn cannot start yet", () => {
  // Speech needs 200 ms to count; the pre-roll is 500 ms; a pause of 800 ms ends a turn.
  const listener = (speech: ReadonlyArray<readonly [number, number]>, options: { maxHeldMs?: number } = {}) =>
    new HandsFreeListener({ stream: new ScriptedStream(speech), pauseMs: 800, ...options });

  it("speech begun while the last utterance is transcribed is kept from its pre-roll when the gate opens", () => {
    const actions = run(listener([[1000, 5000]]), numbered(7000), (ms) => (ms < 3000 ? "soon" : "open"));
    expect(kinds(actions)).toEqual(["start", "end"]);
    // Detected at 1.2 s and held from its pre-roll (0.7 s) up to the frame that found the gate open.
    expect(actions[0]!.ms).toBe(3000);
    expect(startAudio(actions[0])).toEqual(range(700, 3000));
    // Then it goes on live and ends one pause after the speech: one unbroken stretch of audio.
    expect(actions.at(-1)!.ms).toBe(5800);
    expect(turnAudio(actions)).toEqual(range(700, 5800));
  });

  it("a whole utterance said while waiting becomes a turn, started and ended, as soon as the gate opens", () => {
    const l = listener([
      [1000, 2000],
      [5000, 6000],
    ]);
    const audio = numbered(8000);
    const waiting = run(l, audio.subarray(0, sampleAt(4000)), () => "soon");
    expect(waiting).toEqual([]);
    // The gate opens between two frames (the transcript arrived): nothing waits for the next one.
    const opened = l.open();
    expect(opened.map((a) => a.type)).toEqual(["start", "end"]);
    // From its pre-roll to the end of the pause that ended it (2 s + 0.8 s); the silence after is not kept.
    expect(concat((opened[0] as Extract<HandsFreeAction, { type: "start" }>).audio)).toEqual(
      range(700, 2800),
    );
    expect(l.open()).toEqual([]);
    // Turn taking goes on as usual afterwards.
    const after = run(l, audio.subarray(sampleAt(4000)), () => "open");
    expect(kinds(after)).toEqual(["start", "end"]);
    expect(turnAudio(after)).toEqual(range(4700, 6800));
  });

  it("held speech cut off by muting becomes a whole turn, with no pause after it", () => {
    const l = listener([[1000, 4000]]);
    expect(run(l, numbered(2000), () => "soon")).toEqual([]);
    l.endHeld();
    const opened = l.open();
    expect(opened.map((a) => a.type)).toEqual(["start", "end"]);
    expect(concat((opened[0] as Extract<HandsFreeAction, { type: "start" }>).audio)).toEqual(
      range(700, 2000),
    );
  });

  it("a second utterance said while still waiting joins the held one", () => {
    const speech = [
      [1000, 1600],
      [3000, 3600],
    ] as const;
    const actions = run(listener(speech), numbered(6000), (ms) => (ms <= 5000 ? "soon" : "open"));
    expect(kinds(actions)).toEqual(["start", "end"]);
    expect(actions[0]!.ms).toBe(5020);
    expect(startAudio(actions[0])).toEqual(concat([range(700, 2400), range(2700, 4400)]));
  });

  it("holds at most 30 s, the most recent", () => {
    const actions = run(listener([[1000, 41000]]), numbered(42000), (ms) => (ms < 40000 ? "soon" : "open"));
    expect(actions[0]!.ms).toBe(40000);
    expect(startAudio(actions[0])).toEqual(range(10000, 40000));
    // The cap is exact to the sample, even within a frame.
    const capped = run(listener([[1000, 3000]], { maxHeldMs: 1010 }), numbered(2000), (ms) =>
      ms < 2000 ? "soon" : "open",
    );
    expect(startAudio(capped[0])).toEqual(range(990, 2000));
  });

  it("keeps no more than the pre-roll while the gate is closed, drops what was held, and never starts", () => {
    const speech = [[1000, 4000]] as const;
    expect(run(listener(speech), numbered(6000), () => "closed")).toEqual([]);
    // Held while "soon", then the answer became audible ("closed"): what was held goes.
    const actions = run(listener(speech), numbered(6000), (ms) =>
      ms <= 2000 ? "soon" : ms <= 3000 ? "closed" : "open",
    );
    expect(kinds(actions)).toEqual(["start", "end"]);
    expect(actions[0]!.ms).toBe(3020);
    expect(startAudio(actions[0])).toEqual(range(2520, 3020));
  });
});

class ToneVoice implements SpeechSynthesizer {
  readonly name = "tone";
  async synthesize(text: string): Promise<SynthesizedSpeech> {
    const samples = new Float32Array(Math.round(text.length * 0.06 * RATE)).fill(0.1);
    return { samples, sampleRate: RATE, durationMs: (samples.length * 1000) / RATE, synthMs: 1 };
  }
  async dispose(): Promise<void> {}
}

/** Hears "what is two plus two" in any audio long enough. */
class FixedRecognizer implements SpeechRecognizer {
  readonly name = "fixed";
  async transcribe(audio: MonoAudio): Promise<Transcription> {
    const audioMs = (audio.samples.length * 1000) / audio.sampleRate;
    return { text: audioMs > 500 ? "what is two plus two" : "", segments: [], decodeMs: 1, audioMs };
  }
  async dispose(): Promise<void> {}
}

/** Hears no words in anything (what a cough or a door gives). */
class DeafRecognizer implements SpeechRecognizer {
  readonly name = "deaf";
  async transcribe(audio: MonoAudio): Promise<Transcription> {
    return { text: "", segments: [], decodeMs: 1, audioMs: (audio.samples.length * 1000) / audio.sampleRate };
  }
  async dispose(): Promise<void> {}
}

/** Feeds a session audio in 20 ms frames, letting its timers and promises run between them. */
const feed = async (s: VoiceSession, audio: Float32Array) => {
  for (let at = 0; at + FRAME <= audio.length; at += FRAME) {
    s.audio(audio.subarray(at, at + FRAME));
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe("the voice session in hands-free mode", () => {
  const engines: ReasoningEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.dispose();
  });

  /** `speed`: how many times faster than real time the answer "plays". */
  async function session(
    interruptBySpeaking: boolean,
    speed = 20,
    recognizer: SpeechRecognizer = new FixedRecognizer(),
  ) {
    const engine = await ReasoningEngine.open({
      modelPath: await tinyModelPath({ program: DEMO_PROGRAM }),
      gpu: "cpu",
      contextSize: 2048,
    });
    engines.push(engine);
    const start = performance.now();
    const sink = new TimelineSink(() => performance.now() - start, speed);
    const events: SessionEvent[] = [];
    const s = new VoiceSession({
      engine,
      recognizer,
      vad: new EnergyVad(),
      synthesizer: new ToneVoice(),
      sink,
      handsFree: { handsFree: true, pauseMs: 400, interruptBySpeaking },
    });
    s.on((e) => events.push(e));
    return { s, events, engine };
  }

  const states = (events: SessionEvent[]) =>
    events.filter((e) => e.type === "state").map((e) => (e as { state: string }).state);

  it("listens when the user speaks and answers after the pause, with no button", async () => {
    const { s, events, engine } = await session(true);
    await feed(s, concat([quiet(300), voiced(900), quiet(600)]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await s.whenIdle();
    expect(states(events).slice(0, 2)).toEqual(["listening", "thinking"]);
    expect(events).toContainEqual({
      type: "transcript",
      committed: "what is two plus two",
      tentative: "",
      final: true,
    });
    expect(engine.history.at(-1)).toMatchObject({ user: "what is two plus two" });
  });

  it("talking over the answer interrupts it only when that is on", async () => {
    for (const interrupt of [false, true]) {
      // Played in real time, so the answer is still audible while the user talks.
      const { s, events } = await session(interrupt, 1);
      s.sendText("What is two plus two?");
      await new Promise<void>((resolve) => {
        const off = s.on((e) => e.type === "state" && e.state === "speaking" && (off(), resolve()));
      });
      await feed(s, concat([voiced(600), quiet(500)]));
      const heard = events.some((e) => e.type === "state" && e.state === "listening");
      expect(heard).toBe(interrupt);
      s.stop();
      await s.whenIdle();
    }
  });

  it("sounds without words raise no error and leave no turn; push-to-talk without words still says so", async () => {
    const { s, events, engine } = await session(true, 20, new DeafRecognizer());
    const finalTranscript = () =>
      new Promise<void>((resolve) => {
        const off = s.on((e) => e.type === "transcript" && e.final && (off(), resolve()));
      });
    // A cough: the listener starts a turn and the pause ends it.
    let heard = finalTranscript();
    await feed(s, concat([quiet(300), voiced(600), quiet(600)]));
    await heard;
    await s.whenIdle();
    // A door, cut off by muting (the window sends the key's release).
    await feed(s, concat([quiet(300), voiced(600)]));
    expect(s.state).toBe("listening");
    await s.pushToTalkUp();
    await s.whenIdle();
    // The television, cut off by turning hands-free off.
    await feed(s, concat([quiet(300), voiced(600)]));
    expect(s.state).toBe("listening");
    heard = finalTranscript();
    s.setHandsFree({ handsFree: false, pauseMs: 400, interruptBySpeaking: true });
    await heard;
    await s.whenIdle();
    expect(states(events).filter((state) => state === "listening")).toHaveLength(3);
    expect(events.filter((e) => e.type === "error")).toEqual([]);

    // The key, held over the same sounds: the user asked to be heard, so the window says what happened.
    s.pushToTalkDown();
    await feed(s, concat([quiet(300), voiced(600), quiet(300)]));
    await s.pushToTalkUp();
    await s.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([
      expect.objectContaining({ stage: "stt", message: expect.stringMatching(/no words were recognised/) }),
    ]);
    // None of the four is part of the conversation.
    expect(turnList(reduceTurns(emptyTurns(), events, () => 0))).toEqual([]);
    expect(events.filter((e) => e.type === "turn" && e.event.type === "start")).toHaveLength(4);
    expect(engine.history).toEqual([]);
  });

  it("turning hands-free off mid-utterance ends it as a pause would", async () => {
    const { s, events } = await session(true);
    await feed(s, concat([quiet(200), voiced(700)]));
    expect(s.state).toBe("listening");
    s.setHandsFree({ handsFree: false, pauseMs: 400, interruptBySpeaking: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await s.whenIdle();
    expect(states(events)).toContain("thinking");
    // Off means off: more speech starts nothing.
    const count = events.length;
    await feed(s, concat([voiced(600), quiet(500)]));
    expect(events.length).toBe(count);
  });
});

const NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight"];

/** Hears one word per burst of speech ("one two three" for three); `hold` keeps every decode waiting. */
class BurstCounter implements SpeechRecognizer {
  readonly name = "bursts";
  private readonly gate = new Gate();
  /** Decodes wait until the returned function is called (a slow final transcript). */
  hold(): () => void {
    return this.gate.hold();
  }
  async transcribe(audio: MonoAudio): Promise<Transcription> {
    await this.gate.pass();
    let bursts = 0;
    let loud = false;
    for (let at = 0; at + FRAME <= audio.samples.length; at += FRAME) {
      const now = rms(audio.samples, at, at + FRAME) > 0.05;
      if (now && !loud) bursts++;
      loud = now;
    }
    const audioMs = (audio.samples.length * 1000) / audio.sampleRate;
    return { text: NUMBERS.slice(0, bursts).join(" "), segments: [], decodeMs: 1, audioMs };
  }
  async dispose(): Promise<void> {}
}

/** `count` bursts of speech with short breaths between them (shorter than the pause). */
const bursts = (count: number) =>
  concat(Array.from({ length: count }, () => [voiced(300), quiet(200)]).flat());

describe("the voice session in hands-free mode, speaking again while the last words are transcribed", () => {
  /** Think-first on the scripted engine: a new utterance during the answer ends that turn and starts the next. */
  function fakeSession() {
    const setup = fakeEngine(
      { main: [...repeat(" t", 10), "</think>", ...repeat(" word", 20), "<|im_end|>"] },
      ["yes"],
      { mode: "thinking" },
    );
    const recognizer = new BurstCounter();
    const start = performance.now();
    const s = new VoiceSession({
      engine: setup.engine,
      recognizer,
      vad: new EnergyVad(),
      synthesizer: new ToneVoice(),
      sink: new TimelineSink(() => performance.now() - start, 20),
      // Talking over the answer is off: the held words become a turn all the same (they came before it).
      handsFree: { handsFree: true, pauseMs: 400, interruptBySpeaking: false },
    });
    const events: SessionEvent[] = [];
    s.on((e) => events.push(e));
    return { s, events, recognizer, engine: setup.engine };
  }
  const finals = (events: SessionEvent[]) =>
    events.flatMap((e) => (e.type === "transcript" && e.final ? [e.committed] : []));
  const untilFinals = (s: VoiceSession, count: number) =>
    new Promise<void>((resolve) => {
      let seen = 0;
      const off = s.on((e) => {
        if (e.type === "transcript" && e.final && ++seen === count) {
          off();
          resolve();
        }
      });
    });
  const untilState = (s: VoiceSession, state: string) =>
    new Promise<void>((resolve) => {
      const off = s.on((e) => e.type === "state" && e.state === state && (off(), resolve()));
    });

  it("a whole sentence said while the first is transcribed becomes the next question", async () => {
    const { s, events, recognizer, engine } = fakeSession();
    const release = recognizer.hold();
    await feed(s, concat([quiet(300), bursts(3), quiet(600)]));
    // The first utterance ended and is being transcribed (held); the second is said meanwhile.
    expect(s.state).toBe("listening");
    await feed(s, concat([bursts(5), quiet(600)]));
    expect(finals(events)).toEqual([]);
    release();
    // The second turn follows the first without a pause in between: idle comes after both.
    await s.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    expect(finals(events)).toEqual(["one two three", "one two three four five"]);
    expect(engine.history.map((h) => h.user)).toEqual(["one two three", "one two three four five"]);
  });

  it("a sentence begun while the first is transcribed keeps its beginning when its turn starts", async () => {
    const { s, events, recognizer, engine } = fakeSession();
    const release = recognizer.hold();
    const both = untilFinals(s, 2);
    await feed(s, concat([quiet(300), bursts(3), quiet(600)]));
    const listeningAgain = untilState(s, "listening");
    // Two of its five bursts before the first transcript is in, three after.
    await feed(s, concat([voiced(300), quiet(200), voiced(300)]));
    release();
    await listeningAgain;
    await feed(s, concat([quiet(200), bursts(3), quiet(600)]));
    await both;
    await s.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    expect(finals(events)).toEqual(["one two three", "one two three four five"]);
    expect(engine.history.at(-1)).toMatchObject({ user: "one two three four five" });
  });

  it("muting while the first is transcribed ends the second where it was cut off", async () => {
    const { s, events, recognizer } = fakeSession();
    const release = recognizer.hold();
    await feed(s, concat([quiet(300), bursts(3), quiet(600)]));
    await feed(s, concat([voiced(300), quiet(200), voiced(300)]));
    // The window mutes the microphone while listening: a push-to-talk release, then no more audio.
    const muted = s.pushToTalkUp();
    release();
    await muted;
    await s.whenIdle();
    expect(finals(events)).toEqual(["one two three", "one two"]);
  });

  it("Stop while listening, or while the words are transcribed, ends in idle and the next words are heard", async () => {
    const { s, events, recognizer } = fakeSession();
    await feed(s, concat([quiet(300), bursts(2)]));
    expect(s.state).toBe("listening");
    s.stop();
    await s.whenIdle();
    const release = recognizer.hold();
    await feed(s, concat([bursts(3), quiet(600)]));
    expect(s.state).toBe("listening");
    s.stop();
    release();
    await s.whenIdle();
    // Stopped words go nowhere; the session listens as before.
    const next = untilFinals(s, 1);
    await feed(s, concat([bursts(4), quiet(600)]));
    await next;
    await s.whenIdle();
    expect(finals(events)).toEqual(["one two three four"]);
    expect(events.filter((e) => e.type === "error")).toEqual([]);
  });
});

describe("the voice session continuing another conversation", () => {
  it("stops what runs and takes the other conversation's history, the model staying loaded", async () => {
    const engine = await ReasoningEngine.open({
      modelPath: await tinyModelPath({ program: DEMO_PROGRAM }),
      gpu: "cpu",
      contextSize: 2048,
    });
    try {
      const start = performance.now();
      const s = new VoiceSession({
        engine,
        vad: new EnergyVad(),
        synthesizer: new ToneVoice(),
        sink: new TimelineSink(() => performance.now() - start, 1),
      });
      s.sendText("What is two plus two?");
      await new Promise<void>((resolve) => {
        const off = s.on((e) => e.type === "state" && e.state === "speaking" && (off(), resolve()));
      });
      const other = [{ user: "Tell me a joke", answer: "Why did the chicken cross the road?" }];
      await s.restart(other);
      expect(s.state).toBe("idle");
      expect(engine.history).toEqual(other);
      // And the conversation goes on from there.
      s.sendText("What is two plus two?");
      await s.whenIdle();
      expect(engine.history.map((h) => h.user)).toEqual(["Tell me a joke", "What is two plus two?"]);
    } finally {
      await engine.dispose();
    }
  });
});
