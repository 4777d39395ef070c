import { afterAll, describe, expect, it } from "vitest";
import { ReasoningEngine } from "../../../src/engine/reasoning/engine.js";
import { HandsFreeListener, type HandsFreeAction } from "../../../src/engine/session/handsFree.js";
import { VoiceSession, type SessionEvent } from "../../../src/engine/session/voiceSession.js";
import { TimelineSink } from "../../../src/engine/speech/answerSpeaker.js";
import type { MonoAudio } from "../../../src/engine/speech/pcm.js";
import type { SpeechRecognizer, Transcription } from "../../../src/engine/speech/stt.js";
import type { SpeechSynthesizer, SynthesizedSpeech } from "../../../src/engine/speech/tts/synthesizer.js";
import { EnergyVad, SileroVad } from "../../../src/engine/speech/vad.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { joinWavs, loadSpeech, silenceWav, spokenWav } from "../../helpers/audio.js";
import { tinyModelPath } from "../../helpers/models.js";
import { sileroModelForTests } from "../../helpers/sileroModel.js";

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
  mayStart: (ms: number) => boolean = () => true,
) {
  const actions: Array<HandsFreeAction & { ms: number }> = [];
  for (let at = 0; at + FRAME <= audio.length; at += FRAME) {
    const ms = ((at + FRAME) * 1000) / RATE;
    for (const action of listener.push(audio.subarray(at, at + FRAME), mayStart(ms)))
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
    const actions = run(listener, audio, (ms) => ms >= 2000);
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

describe("the voice session in hands-free mode", () => {
  const engines: ReasoningEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.dispose();
  });

  /** `speed`: how many times faster than real time the answer "plays". */
  async function session(interruptBySpeaking: boolean, speed = 20) {
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
      recognizer: new FixedRecognizer(),
      vad: new EnergyVad(),
      synthesizer: new ToneVoice(),
      sink,
      handsFree: { handsFree: true, pauseMs: 400, interruptBySpeaking },
    });
    s.on((e) => events.push(e));
    return { s, events, engine };
  }

  const feed = async (s: VoiceSession, audio: Float32Array) => {
    for (let at = 0; at + FRAME <= audio.length; at += FRAME) {
      s.audio(audio.subarray(at, at + FRAME));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
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
