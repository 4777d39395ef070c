import { afterAll, describe, expect, it } from "vitest";
import { ReasoningEngine } from "../../../src/engine/reasoning/engine.js";
import {
  VoiceSession,
  type SessionEvent,
  type VoiceTurnMetrics,
} from "../../../src/engine/session/voiceSession.js";
import { TimelineSink, type AudioSink } from "../../../src/engine/speech/answerSpeaker.js";
import type { MonoAudio } from "../../../src/engine/speech/pcm.js";
import type { SpeechRecognizer, Transcription } from "../../../src/engine/speech/stt.js";
import type { SpeechSynthesizer, SynthesizedSpeech } from "../../../src/engine/speech/tts/synthesizer.js";
import { EnergyVad } from "../../../src/engine/speech/vad.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { emptyTurns, reduceTurns, turnList } from "../../../src/shared/turnRecord.js";
import { fakeEngine, repeat } from "../../helpers/fakeEngine.js";
import { tinyModelPath } from "../../helpers/models.js";
import { Gate } from "../../helpers/gate.js";

/** A voice that makes `msPerChar` of tone per character, after `synthMs`; it can be told to fail on a chunk. */
class ToneVoice implements SpeechSynthesizer {
  readonly name = "tone";
  calls = 0;
  /** Called as each chunk reaches the voice (a test may hold the engine there). */
  onSynthesize: (() => void) | undefined;
  constructor(
    private readonly msPerChar = 20,
    private readonly synthMs = 5,
    private readonly failOnCall?: number,
  ) {}
  async synthesize(text: string): Promise<SynthesizedSpeech> {
    // Numbered before waiting: calls overlap, so the counter may have moved on by then.
    const call = ++this.calls;
    this.onSynthesize?.();
    await new Promise((resolve) => setTimeout(resolve, this.synthMs));
    if (call === this.failOnCall) throw new Error("voice crashed");
    const samples = new Float32Array(Math.round((text.length * this.msPerChar * 16000) / 1000)).fill(0.1);
    return { samples, sampleRate: 16000, durationMs: (samples.length * 1000) / 16000, synthMs: this.synthMs };
  }
  async dispose(): Promise<void> {}
}

/** Hears a fixed sentence, a word per 300 ms of audio; the final decode can be made to fail. */
class SentenceRecognizer implements SpeechRecognizer {
  readonly name = "sentence";
  failFinal = false;
  calls = 0;
  constructor(private readonly sentence: string) {}
  private readonly gate = new Gate();
  /** Decodes wait until the returned function is called (a slow final transcript). */
  hold(): () => void {
    return this.gate.hold();
  }
  async transcribe(audio: MonoAudio): Promise<Transcription> {
    this.calls++;
    await this.gate.pass();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const audioMs = (audio.samples.length * 1000) / audio.sampleRate;
    const words = this.sentence.split(" ");
    const n = Math.min(words.length, Math.floor(audioMs / 300));
    if (this.failFinal && n === words.length) throw new Error("recogniser crashed");
    return { text: words.slice(0, n).join(" "), segments: [], decodeMs: 5, audioMs };
  }
  async dispose(): Promise<void> {}
}

/** Records play/stop times around a TimelineSink, and says when a given number of chunks started playing. */
class WatchedSink implements AudioSink {
  plays: number[] = [];
  stops: number[] = [];
  private waiting: Array<{ count: number; resolve: () => void }> = [];
  constructor(private readonly inner: TimelineSink) {}
  play(audio: MonoAudio, id: number) {
    this.plays.push(performance.now());
    for (const wait of this.waiting) if (this.plays.length >= wait.count) wait.resolve();
    this.waiting = this.waiting.filter((wait) => this.plays.length < wait.count);
    return this.inner.play(audio, id);
  }
  untilPlays(count: number): Promise<void> {
    if (this.plays.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ count, resolve }));
  }
  stop() {
    this.stops.push(performance.now());
    return this.inner.stop();
  }
}

const engines: ReasoningEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

async function demoSession(
  options: { voice?: SpeechSynthesizer; recognizer?: SpeechRecognizer; speed?: number } = {},
) {
  const engine = await ReasoningEngine.open({
    modelPath: await tinyModelPath({ program: DEMO_PROGRAM }),
    gpu: "cpu",
    contextSize: 2048,
  });
  engines.push(engine);
  const start = performance.now();
  const sink = new WatchedSink(new TimelineSink(() => performance.now() - start, options.speed ?? 20));
  const events: SessionEvent[] = [];
  const session = new VoiceSession({
    engine,
    ...(options.recognizer ? { recognizer: options.recognizer } : {}),
    vad: new EnergyVad(),
    synthesizer: options.voice ?? new ToneVoice(),
    sink,
  });
  session.on((e) => events.push(e));
  return { engine, session, sink, events };
}

const burst = (ms: number, offset: number) =>
  Float32Array.from({ length: (ms * 16000) / 1000 }, (_, i) =>
    ((offset + i) / 16) % 600 < 400 ? 0.3 * Math.sin(i / 3) : 0,
  );

/** Feeds `ms` of speech-like audio, from `fromMs` on, in 20 ms frames. */
function speak(session: VoiceSession, ms: number, fromMs = 0) {
  for (let at = fromMs; at < fromMs + ms; at += 20) session.audio(burst(20, (at / 20) * 320));
}

/** The next session event that matches. */
const nextEvent = (session: VoiceSession, match: (event: SessionEvent) => boolean) =>
  new Promise<SessionEvent>((resolve) => {
    const stop = session.on((event) => {
      if (!match(event)) return;
      stop();
      resolve(event);
    });
  });

/**
 * Speaks the way a person does, a little at a time: each 600 ms of audio (a burst and its pause, so
 * the voice detector hears speech) only after the previous part was transcribed, until `done`.
 * Partials come from the transcriber's own timer, not from sleeps here. Returns the audio fed.
 */
async function speakUntil(session: VoiceSession, done: () => boolean, maxMs: number): Promise<number> {
  let fed = 0;
  while (!done() && fed < maxMs) {
    const partial = nextEvent(session, (event) => event.type === "transcript" && !event.final);
    speak(session, 600, fed);
    fed += 600;
    await partial;
  }
  return fed;
}

/** Holds the fake engine's decodes from the moment the first chunk reaches the voice: the turn is still running then. */
function holdAtFirstChunk(voice: ToneVoice, runtime: { holdDecodes(): () => void }) {
  let release: (() => void) | undefined;
  voice.onSynthesize = () => {
    release ??= runtime.holdDecodes();
  };
  return () => release?.();
}

const metricsOf = (events: SessionEvent[]) =>
  events.filter((e) => e.type === "metrics").map((e) => (e as { metrics: VoiceTurnMetrics }).metrics);
const states = (events: SessionEvent[]) =>
  events.filter((e) => e.type === "state").map((e) => (e as { state: string }).state);

describe("the voice session", () => {
  it("speaks a typed question's answer chunk by chunk and reports the turn's metrics", async () => {
    const { session, events, engine } = await demoSession();
    session.sendText("What is two plus two?");
    await session.whenIdle();
    expect(states(events)).toEqual(["thinking", "speaking", "idle"]);
    const [metrics] = metricsOf(events);
    expect(metrics).toMatchObject({ endReason: "end-of-turn", writerTokens: 12, heardTokens: 12 });
    expect(metrics!.releaseToFirstAudioMs).toBeGreaterThan(0);
    expect(metrics!.chunks).toBeGreaterThanOrEqual(2);
    // The first sound comes once the first chunk is written and synthesized; the delay counts from the question.
    expect(metrics!.totalDelay * 1000).toBeGreaterThanOrEqual(metrics!.ttftMs!);
    const chunks = events
      .filter((e) => e.type === "chunk")
      .map((e) => (e as { chunk: { spoken: string } }).chunk.spoken);
    expect(chunks.join(" ").replace(/ ([!.])/g, "$1")).toMatch(/Let me work it out! So the answer is 4\./);
    expect(engine.history[0]!.answer).toBe("Let me work it out!\n\nSo the answer is 4.");
  });

  it("listens while push-to-talk is held: partial words reach the engine before release", async () => {
    const recognizer = new SentenceRecognizer("what is two plus two");
    const { session, events } = await demoSession({ recognizer });
    session.pushToTalkDown();
    expect(session.state).toBe("listening");
    const taken = () => events.some((e) => e.type === "turn" && e.event.type === "input" && !e.event.final);
    const fed = await speakUntil(session, taken, 2400);
    expect(taken()).toBe(true);
    speak(session, 2400 - fed, fed);
    await session.pushToTalkUp();
    await session.whenIdle();
    const inputs = events
      .filter((e) => e.type === "turn" && e.event.type === "input")
      .map((e) => (e as { event: { text: string; final: boolean } }).event);
    expect(inputs.some((i) => !i.final && i.text.length > 0)).toBe(true);
    expect(inputs.at(-1)).toMatchObject({ text: "what is two plus two", final: true });
    const [metrics] = metricsOf(events);
    expect(metrics!.sttMs).not.toBeNull();
    expect(metrics!.writerTokens).toBe(12);
    expect(events.filter((e) => e.type === "transcript" && !e.final).length).toBeGreaterThan(0);
  });

  it("barge-in after the answer was written: the audio stops at once and only what was heard stays", async () => {
    const recognizer = new SentenceRecognizer("stop please");
    const { session, sink, engine, events } = await demoSession({
      recognizer,
      voice: new ToneVoice(60, 5),
      speed: 1,
    });
    session.sendText("What is two plus two?");
    await sink.untilPlays(2);
    session.pushToTalkDown();
    // Stopped synchronously, inside the key-down handler.
    expect(sink.stops.length).toBe(1);
    const heard = engine.history[0]!.answer;
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan("Let me work it out!\n\nSo the answer is 4.".length);
    speak(session, 900);
    await session.pushToTalkUp();
    await session.whenIdle();
    expect(engine.history.map((h) => h.user)).toEqual(["What is two plus two?", "stop please"]);
    expect(states(events)).toContain("listening");
  });

  it("think-first mode: a question typed while the answer plays ends that turn and the new one runs", async () => {
    const setup = fakeEngine(
      { main: [...repeat(" t", 10), "</think>", ...repeat(" word", 80), "<|im_end|>"] },
      ["yes"],
      { mode: "thinking" },
    );
    const voice = new ToneVoice(8, 5);
    const release = holdAtFirstChunk(voice, setup.runtime);
    const start = performance.now();
    const sink = new WatchedSink(new TimelineSink(() => performance.now() - start, 1));
    const events: SessionEvent[] = [];
    const session = new VoiceSession({
      engine: setup.engine,
      vad: new EnergyVad(),
      synthesizer: voice,
      sink,
    });
    session.on((e) => events.push(e));
    session.sendText("First question");
    await sink.untilPlays(1);
    session.sendText("Second question");
    release();
    await session.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    expect(setup.engine.busy).toBe(false);
    expect(setup.engine.history.map((h) => h.user)).toEqual(["First question", "Second question"]);
    // The first answer keeps only what was heard before the new question.
    expect(setup.engine.history[0]!.answer.split("word").length - 1).toBeLessThan(80);
    const ends = events.filter((e) => e.type === "turn" && e.event.type === "end");
    expect(ends.map((e) => (e as { event: { reason: string } }).event.reason)).toEqual([
      "cancelled",
      "end-of-turn",
    ]);
  });

  it("think-first mode: push-to-talk during the answer starts a new turn with the new words", async () => {
    const setup = fakeEngine(
      { main: [...repeat(" t", 10), "</think>", ...repeat(" word", 80), "<|im_end|>"] },
      ["yes"],
      { mode: "thinking" },
    );
    const voice = new ToneVoice(8, 5);
    const release = holdAtFirstChunk(voice, setup.runtime);
    const start = performance.now();
    const sink = new WatchedSink(new TimelineSink(() => performance.now() - start, 1));
    const events: SessionEvent[] = [];
    const session = new VoiceSession({
      engine: setup.engine,
      recognizer: new SentenceRecognizer("in French please"),
      vad: new EnergyVad(),
      synthesizer: voice,
      sink,
    });
    session.on((e) => events.push(e));
    session.sendText("Say many words");
    await sink.untilPlays(1);
    session.pushToTalkDown();
    release();
    speak(session, 1000);
    await session.pushToTalkUp();
    await session.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    expect(setup.engine.history.map((h) => h.user)).toEqual(["Say many words", "in French please"]);
  });

  it("push-to-talk pressed while the last words are still transcribed: the new words wait and become the next turn", async () => {
    const setup = fakeEngine(
      { main: [...repeat(" t", 10), "</think>", ...repeat(" word", 20), "<|im_end|>"] },
      ["yes"],
      { mode: "thinking" },
    );
    const recognizer = new SentenceRecognizer("what is two plus two");
    const start = performance.now();
    const events: SessionEvent[] = [];
    const session = new VoiceSession({
      engine: setup.engine,
      recognizer,
      vad: new EnergyVad(),
      synthesizer: new ToneVoice(8, 5),
      sink: new TimelineSink(() => performance.now() - start, 20),
    });
    session.on((e) => events.push(e));
    const release = recognizer.hold();
    session.pushToTalkDown();
    speak(session, 900);
    const first = session.pushToTalkUp();
    // Pressed again at once: the first words are still being transcribed (held here).
    session.pushToTalkDown();
    speak(session, 1500);
    const second = session.pushToTalkUp();
    release();
    await Promise.all([first, second]);
    await session.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    const finals = events.flatMap((e) => (e.type === "transcript" && e.final ? [e.committed] : []));
    expect(finals).toEqual(["what is two", "what is two plus two"]);
    expect(setup.engine.history.map((h) => h.user)).toEqual(["what is two", "what is two plus two"]);
  });

  it("barge-in while the answer is still being written becomes an interjection", async () => {
    const setup = fakeEngine(
      { thinker: repeat(" t", 200), writer: [...repeat(" word", 60), "<|im_end|>"] },
      ["yes"],
      { probe: "yes" },
    );
    const voice = new ToneVoice(8, 5);
    const release = holdAtFirstChunk(voice, setup.runtime);
    const start = performance.now();
    const sink = new WatchedSink(new TimelineSink(() => performance.now() - start, 1));
    const events: SessionEvent[] = [];
    const session = new VoiceSession({
      engine: setup.engine,
      recognizer: new SentenceRecognizer("in French"),
      vad: new EnergyVad(),
      synthesizer: voice,
      sink,
    });
    session.on((e) => events.push(e));
    // The engine goes on once the interjection's words are in (the final transcript comes just before).
    session.on((e) => {
      if (e.type === "transcript" && e.final) release();
    });
    session.sendText("Say many words");
    await sink.untilPlays(1);
    session.pushToTalkDown();
    speak(session, 700);
    await session.pushToTalkUp();
    await session.whenIdle();
    const turnEvents = events
      .filter((e) => e.type === "turn")
      .map((e) => (e as { event: { type: string } }).event);
    expect(turnEvents.some((e) => e.type === "truncate")).toBe(true);
    expect(turnEvents.find((e) => e.type === "interjection")).toMatchObject({ text: "in French" });
    expect(setup.engine.history).toHaveLength(1);
  });

  it("keeps the text going when the voice fails mid-answer, and shows the error", async () => {
    const { session, events } = await demoSession({ voice: new ToneVoice(20, 5, 2) });
    session.sendText("What is two plus two?");
    await session.whenIdle();
    const errors = events.filter((e) => e.type === "error");
    expect(errors).toEqual([expect.objectContaining({ stage: "tts", message: "voice crashed" })]);
    const answer = events
      .filter((e) => e.type === "turn" && e.event.type === "answer")
      .map((e) => (e as { event: { text: string } }).event.text)
      .join("");
    expect(answer).toBe("Let me work it out!\n\nSo the answer is 4.");
    expect(metricsOf(events)[0]!.chunks).toBeGreaterThanOrEqual(1);
  });

  it("reports a failed recogniser and stays usable", async () => {
    const recognizer = new SentenceRecognizer("hello there");
    recognizer.failFinal = true;
    const { session, events } = await demoSession({ recognizer });
    session.pushToTalkDown();
    speak(session, 900);
    await session.pushToTalkUp();
    await session.whenIdle();
    expect(events.some((e) => e.type === "error" && e.stage === "stt")).toBe(true);
    session.sendText("What is two plus two?");
    await session.whenIdle();
    expect(metricsOf(events).at(-1)).toMatchObject({ endReason: "end-of-turn" });
  });

  it("push-to-talk that gives no words says why, and leaves no turn in the conversation", async () => {
    // A recogniser that knows no words: what a cough gives.
    const { session, events, engine } = await demoSession({ recognizer: new SentenceRecognizer("") });
    // A tap on the key in silence.
    session.pushToTalkDown();
    session.audio(new Float32Array(8000));
    await session.pushToTalkUp();
    await session.whenIdle();
    // A sound, between silences, that has no words in it.
    session.pushToTalkDown();
    session.audio(new Float32Array(8000));
    speak(session, 400);
    session.audio(new Float32Array(8000));
    await session.pushToTalkUp();
    await session.whenIdle();
    expect(events.filter((e) => e.type === "error")).toEqual([
      expect.objectContaining({ stage: "stt", message: "Nothing was heard. Hold the key while you speak." }),
      expect.objectContaining({
        stage: "stt",
        message: expect.stringMatching(/^Speech was heard but no words/),
      }),
    ]);
    expect(events.filter((e) => e.type === "turn" && e.event.type === "start")).toHaveLength(2);
    expect(turnList(reduceTurns(emptyTurns(), events, () => 0))).toEqual([]);
    expect(engine.history).toEqual([]);
  });

  it("says so when push-to-talk is used without a speech model, and refuses empty text", async () => {
    const { session, events } = await demoSession();
    session.pushToTalkDown();
    session.sendText("   ");
    const messages = events.filter((e) => e.type === "error").map((e) => (e as { message: string }).message);
    expect(messages[0]).toMatch(/No speech-to-text model/);
    expect(messages[1]).toMatch(/empty/);
  });
});
