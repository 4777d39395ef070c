import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WhisperRecognizer, cleanTranscript } from "../../../src/engine/speech/stt.js";
import { loadSpeech, scratch, spokenWav } from "../../helpers/audio.js";
import { tinyWhisperPath } from "../../helpers/whisper.js";

describe("whisper.cpp speech-to-text on a generated model", () => {
  it("loads, decodes real audio with real compute off the event loop, and returns no invented words", async () => {
    const recognizer = await WhisperRecognizer.load(await tinyWhisperPath());
    const audio = loadSpeech(spokenWav("What is two plus two"));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const result = await recognizer.transcribe(audio);
    clearInterval(timer);
    expect(result.text).toBe("");
    expect(result.decodeMs).toBeGreaterThan(20);
    expect(result.audioMs).toBeCloseTo((audio.samples.length * 1000) / 16000, 0);
    // The event loop kept running while whisper decoded.
    expect(ticks).toBeGreaterThan(result.decodeMs / 40);
    await recognizer.dispose();
    await expect(recognizer.transcribe(audio)).rejects.toMatchObject({ code: "engine-disposed" });
  });

  it("abandons a call that overruns its timeout, reports it, and stays usable", async () => {
    const recognizer = await WhisperRecognizer.load(await tinyWhisperPath());
    const audio = loadSpeech(spokenWav("Tell me a joke about computers"));
    const started = performance.now();
    await expect(recognizer.transcribe(audio, { timeoutMs: 5 })).rejects.toThrow(
      /took longer than 5 ms and was abandoned/,
    );
    const abandonedAfterMs = performance.now() - started;
    // The next call waits for the abandoned one to release the context, then works.
    const next = await recognizer.transcribe(audio, { timeoutMs: 20_000 });
    expect(next.text).toBe("");
    // The caller got its answer before a decode of this audio could have finished.
    expect(abandonedAfterMs).toBeLessThan(next.decodeMs);
    await expect(recognizer.transcribe({ samples: audio.samples, sampleRate: 44100 })).rejects.toThrow(
      /16 kHz/,
    );
    await recognizer.dispose();
  });

  it("refuses missing and damaged model files clearly", async () => {
    await expect(WhisperRecognizer.load("/no/such/ggml-base.en.bin")).rejects.toThrow(
      /no such file|ENOENT|Not found/i,
    );
    const bad = scratch("ggml-bad.bin");
    writeFileSync(bad, Buffer.alloc(2000, 7));
    await expect(WhisperRecognizer.load(bad)).rejects.toThrow(/not a whisper\.cpp model/);
  });

  it("drops what whisper writes for non-speech", () => {
    expect(cleanTranscript(" [BLANK_AUDIO] ")).toBe("");
    expect(cleanTranscript("(music) Hello there ♪♪ [ Silence ] *cough*")).toBe("Hello there");
  });
});
