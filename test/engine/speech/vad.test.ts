import { describe, expect, it } from "vitest";
import { EnergyVad, SileroVad, loadVad, trimToSpeech } from "../../../src/engine/speech/vad.js";
import { joinWavs, loadSpeech, noiseWav, silenceWav, spokenWav } from "../../helpers/audio.js";
import { sileroModelForTests } from "../../helpers/sileroModel.js";

// CI must run the Silero tests; elsewhere, without registry access, they are skipped with the reason.
const silero = await sileroModelForTests();
if ("unavailable" in silero) {
  if (process.env.CI) throw new Error(`The Silero test model is unavailable: ${silero.unavailable}`);
  console.warn(`Skipping the Silero VAD tests: ${silero.unavailable}`);
}
const sileroPath = "path" in silero ? silero.path : undefined;

// 0.5 s silence, "what is two plus two", 1.5 s silence, "tell me a joke", 0.5 s silence.
const first = spokenWav("What is two plus two");
const second = spokenWav("Tell me a joke");
const wav = joinWavs([silenceWav(0.5), first, silenceWav(1.5), second, silenceWav(0.5)]);
const audio = loadSpeech(wav);
const firstEnd = 0.5 + loadSpeech(first).samples.length / 16000;
const secondStart = firstEnd + 1.5;
const seconds = (samples: number) => samples / 16000;

describe("voice activity detection on espeak speech with known silences", () => {
  it.skipIf(!sileroPath)("Silero finds the two utterances", async () => {
    const vad = await SileroVad.load(sileroPath);
    const spans = vad.spans(audio);
    expect(spans).toHaveLength(2);
    expect(seconds(spans[0]!.start)).toBeGreaterThan(0.3);
    expect(seconds(spans[0]!.start)).toBeLessThan(0.8);
    expect(seconds(spans[0]!.end)).toBeGreaterThan(firstEnd - 0.4);
    expect(seconds(spans[0]!.end)).toBeLessThan(firstEnd + 0.5);
    expect(seconds(spans[1]!.start)).toBeGreaterThan(secondStart - 0.3);
    expect(seconds(spans[1]!.start)).toBeLessThan(secondStart + 0.4);
    vad.dispose();
  });

  it.skipIf(!sileroPath)(
    "Silero finds nothing in silence or quiet noise, so nothing reaches the recogniser",
    async () => {
      const vad = await SileroVad.load(sileroPath);
      expect(vad.spans(loadSpeech(silenceWav(2, 16000)))).toEqual([]);
      expect(vad.spans(loadSpeech(noiseWav(2, 0.05)))).toEqual([]);
      expect(trimToSpeech(loadSpeech(silenceWav(1, 16000)), [])).toBeUndefined();
    },
  );

  it("the energy fallback finds the same utterances in clean audio", () => {
    const spans = new EnergyVad().spans(audio);
    expect(spans).toHaveLength(2);
    expect(seconds(spans[0]!.start)).toBeCloseTo(0.5, 0);
    expect(seconds(spans[1]!.start)).toBeGreaterThan(secondStart - 0.2);
    expect(new EnergyVad().spans(loadSpeech(silenceWav(1, 16000)))).toEqual([]);
  });

  it("trims to the speech with padding", () => {
    const spans = new EnergyVad().spans(audio);
    const trimmed = trimToSpeech(audio, spans, 200)!;
    expect(seconds(trimmed.samples.length)).toBeGreaterThan(seconds(spans[1]!.end - spans[0]!.start));
    expect(seconds(trimmed.samples.length)).toBeLessThan(seconds(spans[1]!.end - spans[0]!.start) + 0.45);
  });

  it("falls back to energy with a reason when the Silero model is missing", async () => {
    const { vad, fallbackReason } = await loadVad("/nowhere/silero.onnx");
    expect(vad.name).toBe("energy");
    expect(fallbackReason).toMatch(/not found at \/nowhere\/silero\.onnx.*download it/);
  });
});
