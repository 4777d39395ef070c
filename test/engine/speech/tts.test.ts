import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeWav } from "../../../src/engine/speech/pcm.js";
import { loadMathSpeech, stripMarkdown, toSpeakable } from "../../../src/engine/speech/speakable.js";
import { NeuralVoice } from "../../../src/engine/speech/tts/neuralVoice.js";
import { SystemVoice } from "../../../src/engine/speech/tts/systemVoice.js";
import { recognise, scratch, soxDuration } from "../../helpers/audio.js";

describe("the system voice (espeak-ng on Linux)", () => {
  it("produces audio whose measured duration matches the reported one, and that says the text", async () => {
    const voice = new SystemVoice("linux");
    const speech = await voice.synthesize("The answer is four.");
    expect(speech.sampleRate).toBe(22050);
    expect(speech.durationMs).toBeGreaterThan(800);
    const path = scratch("speech.wav");
    writeFileSync(path, encodeWav(speech));
    expect(Math.abs(soxDuration(path) * 1000 - speech.durationMs)).toBeLessThan(5);
    const heard = recognise(path, [
      "the answer is four",
      "the answer is five",
      "tell me a joke",
      "what is two plus two",
    ]);
    expect(heard).toBe("the answer is four");
  });

  it("speaks faster at a higher rate and stops within 100 ms when cancelled", async () => {
    const voice = new SystemVoice("linux");
    const text = "This is a fairly long sentence that takes a while to say out loud.";
    const normal = await voice.synthesize(text);
    const fast = await voice.synthesize(text, { rate: 1.6 });
    expect(fast.durationMs).toBeLessThan(normal.durationMs * 0.8);
    const long = "word ".repeat(3000);
    const full = await voice.synthesize(long);
    const controller = new AbortController();
    const started = performance.now();
    const pending = voice.synthesize(long, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
    // Cancelling kills the voice: it ends long before the whole text would have been synthesized.
    expect(performance.now() - started).toBeLessThan(full.synthMs / 2);
  });

  it("survives being cancelled right after it started, again and again (no stray pipe errors)", async () => {
    const voice = new SystemVoice("linux");
    const stray: unknown[] = [];
    const onError = (error: unknown) => stray.push(error);
    process.on("uncaughtException", onError);
    try {
      for (let i = 0; i < 15; i++) {
        const controller = new AbortController();
        const pending = voice.synthesize("A sentence that is cut short.", { signal: controller.signal });
        controller.abort();
        await expect(pending).rejects.toMatchObject({ code: "aborted" });
      }
      // Each rejection came after its voice process closed its pipes; errors would have been raised by then.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("uncaughtException", onError);
    }
    expect(stray).toEqual([]);
  });

  it("says clearly when the voice program is missing", async () => {
    const voice = new SystemVoice("linux");
    (voice as unknown as { command: { program: string } }).command.program = "no-such-espeak";
    await expect(voice.synthesize("hi")).rejects.toThrow(/not installed/);
  });
});

describe("neural voices", () => {
  it("refuse a missing or incomplete voice folder clearly", async () => {
    await expect(NeuralVoice.load("/no/such/voice")).rejects.toMatchObject({ code: "model-not-found" });
    const folder = mkdtempSync(join(tmpdir(), "voice-"));
    writeFileSync(join(folder, "model.onnx"), "x");
    await expect(NeuralVoice.load(folder)).rejects.toThrow(/needs an \.onnx model and tokens\.txt/);
  });
});

describe("what gets spoken", () => {
  it("removes markdown", () => {
    expect(stripMarkdown("## Result\n- **Bold** and *italic* with `code` and [a link](http://x)")).toBe(
      "Result\nBold and italic with code and a link",
    );
  });

  it("reads math with ClearSpeak and symbols as words", async () => {
    const math = await loadMathSpeech();
    expect(toSpeakable("So $x^2 + 2x + 1 = 0$ and $$\\frac{1}{2}$$.", math)).toBe(
      "So x squared plus 2 x plus 1 equals 0 and one half .",
    );
    expect(toSpeakable("The answer is $\\boxed{42}$.", math)).toBe("The answer is 42 .");
    expect(toSpeakable("It is 20 °C, 5% more, 3 × 4 ≈ 12.")).toBe(
      "It is 20 degrees Celsius, 5 percent more, 3 times 4 approximately 12.",
    );
    expect(toSpeakable("2 + 2 = 4")).toBe("2 plus 2 equals 4");
    // Without the rules (they failed to load), a rough reading still avoids reading backslashes.
    expect(toSpeakable("$\\frac{a}{b}$")).toBe("a over b");
  });
});
