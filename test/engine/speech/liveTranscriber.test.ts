import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  LiveTranscriber,
  agreedPrefix,
  type PartialTranscript,
} from "../../../src/engine/speech/liveTranscriber.js";
import type { MonoAudio } from "../../../src/engine/speech/pcm.js";
import type { SpeechRecognizer, Transcription } from "../../../src/engine/speech/stt.js";
import { EnergyVad } from "../../../src/engine/speech/vad.js";

/** A recogniser that "hears" a word per half second of audio it is given, after a set delay (on the fake clock). */
class ScriptedRecognizer implements SpeechRecognizer {
  readonly name = "scripted";
  calls: Array<{ audioMs: number; at: number }> = [];
  failNext = false;
  constructor(
    private readonly words: string[],
    private readonly delayMs: number,
  ) {}
  async transcribe(audio: MonoAudio): Promise<Transcription> {
    const audioMs = (audio.samples.length * 1000) / audio.sampleRate;
    this.calls.push({ audioMs, at: performance.now() });
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("decoder hiccup");
    }
    const n = Math.min(this.words.length, Math.floor(audioMs / 500));
    return { text: this.words.slice(0, n).join(" "), segments: [], decodeMs: this.delayMs, audioMs };
  }
  async dispose(): Promise<void> {}
}

/** Speech-like audio: 400 ms bursts of tone with 200 ms pauses (a steady tone would look like noise). */
const tone = (ms: number, offset = 0) =>
  Float32Array.from({ length: (ms * 16000) / 1000 }, (_, i) =>
    ((offset + i) / 16) % 600 < 400 ? 0.3 * Math.sin(i / 3) : 0,
  );
const feed = async (
  t: LiveTranscriber,
  ms: number,
  samples: (ms: number, offset: number) => Float32Array = tone,
) => {
  for (let i = 0; i < ms / 20; i++) {
    t.push(samples(20, i * 320));
    await vi.advanceTimersByTimeAsync(20);
  }
};

/** Releases push-to-talk: the final decode runs on the fake clock. */
const finish = async (t: LiveTranscriber) => {
  const final = t.finish();
  await vi.runAllTimersAsync();
  return final;
};

// The transcriber's timers, the recogniser's decode time and performance.now() all run on a fake
// clock: partials happen at exact times, whatever the machine's load.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("live transcription while push-to-talk is held", () => {
  it("commits words only when consecutive partials agree, and never the last word", () => {
    expect(agreedPrefix("what is two", "what is two plus")).toEqual(["what", "is", "two"]);
    expect(agreedPrefix("what is to", "what is two plus")).toEqual(["what", "is"]);
    expect(agreedPrefix("", "hello")).toEqual([]);
    expect(agreedPrefix("What, is", "what is two")).toEqual(["what", "is"]);
  });

  it("re-decodes the growing buffer at an adaptive rate and commits stable words", async () => {
    const recognizer = new ScriptedRecognizer(["what", "is", "two", "plus", "two", "please"], 250);
    const partials: PartialTranscript[] = [];
    const t = new LiveTranscriber({
      recognizer,
      vad: new EnergyVad(),
      minIntervalMs: 200,
      onPartial: (p) => partials.push(p),
    });
    await feed(t, 3000);
    const final = await finish(t);
    expect(final.text).toBe("what is two plus two please");
    expect(final.silent).toBe(false);
    expect(partials.length).toBeGreaterThanOrEqual(3);
    // Committed text only grows, and is always a prefix of the final words.
    for (let i = 1; i < partials.length; i++)
      expect(partials[i]!.committed.length).toBeGreaterThanOrEqual(partials[i - 1]!.committed.length);
    expect(partials.at(-1)!.committed.length).toBeGreaterThan(0);
    expect("what is two plus two please".startsWith(partials.at(-1)!.committed)).toBe(true);
    // Never faster than decoding allows: after each 250 ms decode, 1.5 x 250 ms pass before the next starts.
    const partialCalls = recognizer.calls.slice(0, -1);
    expect(partialCalls.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < partialCalls.length; i++)
      expect(partialCalls[i]!.at - partialCalls[i - 1]!.at).toBe(250 + 250 * 1.5);
  });

  it("sends nothing to the recogniser for silence and reports a silent recording", async () => {
    const recognizer = new ScriptedRecognizer(["ghost"], 10);
    const t = new LiveTranscriber({ recognizer, vad: new EnergyVad(), minIntervalMs: 100 });
    await feed(t, 800, (ms) => new Float32Array((ms * 16000) / 1000));
    const final = await finish(t);
    expect(final).toMatchObject({ text: "", silent: true });
    expect(recognizer.calls).toHaveLength(0);
  });

  it("reports a failed partial and keeps recording", async () => {
    const recognizer = new ScriptedRecognizer(["hello", "there", "friend"], 50);
    recognizer.failNext = true;
    const errors: Error[] = [];
    const t = new LiveTranscriber({
      recognizer,
      vad: new EnergyVad(),
      minIntervalMs: 150,
      onError: (e) => errors.push(e),
    });
    await feed(t, 1600);
    expect(errors.map((e) => e.message)).toEqual(["decoder hiccup"]);
    expect((await finish(t)).text).toBe("hello there friend");
  });

  it("keeps memory bounded for a 10-minute recording: partials see 30 s, the recording stops growing", async () => {
    const recognizer = new ScriptedRecognizer(["long"], 5);
    const t = new LiveTranscriber({
      recognizer,
      vad: new EnergyVad(),
      minIntervalMs: 50,
      maxRecordingSeconds: 600,
    });
    const minute = tone(60_000);
    for (let i = 0; i < 11; i++) {
      t.push(minute);
      await vi.advanceTimersByTimeAsync(80);
    }
    expect(t.audioMs).toBe(600_000);
    expect(t.truncated).toBe(true);
    const partialCalls = recognizer.calls.slice();
    expect(partialCalls.length).toBeGreaterThan(0);
    for (const call of partialCalls) expect(call.audioMs).toBeLessThanOrEqual(30_000 + 500);
    t.cancel();
  });
});
