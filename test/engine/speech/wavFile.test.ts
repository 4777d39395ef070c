/**
 * Recordings read from disk in a stream: a 10-minute 48 kHz stereo WAV (made by sox) converts
 * to the same samples as the in-memory path, with progress along the way.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { STT_SAMPLE_RATE, decodeWav, wavToSpeechInput } from "../../../src/engine/speech/pcm.js";
import { resample } from "../../../src/engine/speech/resampler.js";
import { readWavForSpeech, type AudioConversionProgress } from "../../../src/engine/speech/wavFile.js";
import { scratch } from "../../helpers/audio.js";

const maxDifference = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

/** A WAV made by sox from nothing: `format` like ["-r", "16000", "-c", "1", "-b", "16"], then effects. */
function soxWav(name: string, format: string[], effects: string): string {
  const path = scratch(name);
  execFileSync("sox", ["-n", ...format, path, ...effects.split(" ")]);
  return path;
}

describe("reading a WAV file in a stream", () => {
  it("converts a 10-minute 48 kHz stereo recording like the in-memory path, reporting progress", async () => {
    // Left: a 440 Hz tone; right: the same tone, quieter. Mixed down: 0.3 + 0.1 = 0.4 peak.
    const path = scratch("ten-minutes.wav");
    execFileSync("sox", [
      "-n",
      "-r",
      "48000",
      "-c",
      "2",
      "-b",
      "16",
      path,
      "synth",
      "600",
      "sine",
      "440",
      "remix",
      "1v0.6",
      "1v0.2",
    ]);
    const progress: AudioConversionProgress[] = [];
    const audio = await readWavForSpeech(path, { onProgress: (p) => progress.push(p) });
    expect(audio.sampleRate).toBe(STT_SAMPLE_RATE);
    expect(audio.info).toMatchObject({ sampleRate: 48000, channels: 2, bitsPerSample: 16 });
    expect(audio.samples.length).toBe(600 * STT_SAMPLE_RATE);

    // Progress: many steps, in order, ending at the whole length.
    expect(progress.length).toBeGreaterThan(50);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]!.doneSeconds).toBeGreaterThan(progress[i - 1]!.doneSeconds);
    expect(progress.at(-1)).toEqual({ doneSeconds: 600, totalSeconds: 600 });

    // The same samples as decoding and resampling the whole file in memory.
    const whole = wavToSpeechInput(readFileSync(path), path);
    expect(maxDifference(audio.samples, whole.samples)).toBe(0);

    // And the tone is still a 440 Hz tone at the mixed-down level, from start to end.
    for (const second of [1, 299, 598]) {
      const window = audio.samples.subarray(second * 16000, (second + 1) * 16000);
      let crossings = 0;
      let peak = 0;
      for (let i = 1; i < window.length; i++) {
        if (window[i - 1]! < 0 && window[i]! >= 0) crossings++;
        peak = Math.max(peak, Math.abs(window[i]!));
      }
      expect(crossings).toBeGreaterThanOrEqual(439);
      expect(crossings).toBeLessThanOrEqual(441);
      expect(peak).toBeGreaterThan(0.38);
      expect(peak).toBeLessThan(0.42);
    }
  });

  it("reads any block size, 24-bit stereo at 44.1 kHz, the same as in memory", async () => {
    const path = soxWav("short.wav", ["-r", "44100", "-c", "2", "-b", "24"], "synth 3 pinknoise vol 0.5");
    const expected = wavToSpeechInput(readFileSync(path));
    for (const blockBytes of [1, 999, 65_536]) {
      const progress: number[] = [];
      const audio = await readWavForSpeech(path, {
        blockBytes,
        onProgress: (p) => progress.push(p.doneSeconds),
      });
      expect(maxDifference(audio.samples, expected.samples)).toBe(0);
      expect(progress.at(-1)).toBe(3);
    }
  });

  it("keeps 16 kHz files as they are and reads streamed WAVs whose size field is a placeholder", async () => {
    const path = soxWav("mono16k.wav", ["-r", "16000", "-c", "1", "-b", "16"], "synth 2 sine 300 vol 0.5");
    const bytes = readFileSync(path);
    expect(maxDifference((await readWavForSpeech(path)).samples, decodeWav(bytes).samples)).toBe(0);
    const streamedPath = scratch("streamed.wav");
    const streamed = Buffer.from(bytes);
    streamed.writeUInt32LE(0xffffffff, 4);
    streamed.writeUInt32LE(0xffffffff, streamed.indexOf("data") + 4);
    writeFileSync(streamedPath, streamed);
    const audio = await readWavForSpeech(streamedPath);
    expect(audio.samples.length).toBe(32000);
    expect(maxDifference(audio.samples, decodeWav(bytes).samples)).toBe(0);
    // Any rate pair: the same as the definition's resampling of the decoded file.
    const at8k = await readWavForSpeech(path, { sampleRate: 8000 });
    expect(maxDifference(at8k.samples, resample(decodeWav(bytes).samples, 16000, 8000))).toBe(0);
  });

  it("says in words what is wrong with a file, and stops when cancelled", async () => {
    await expect(readWavForSpeech(scratch("missing.wav"))).rejects.toThrow(/^No such WAV file: /);
    const folder = scratch("folder.wav");
    mkdirSync(folder);
    await expect(readWavForSpeech(folder)).rejects.toThrow(/is a folder, not a WAV file/);
    const mp3 = scratch("question.mp3");
    writeFileSync(mp3, "ID3\u0003 this is an mp3");
    await expect(readWavForSpeech(mp3)).rejects.toThrow(/is not a WAV file\. Convert it with: ffmpeg/);
    const noData = scratch("header-only.wav");
    writeFileSync(
      noData,
      readFileSync(soxWav("h.wav", ["-r", "16000", "-c", "1", "-b", "16"], "trim 0 0")).subarray(0, 36),
    );
    await expect(readWavForSpeech(noData)).rejects.toThrow(/has no audio data/);

    const path = soxWav("cancel.wav", ["-r", "48000", "-c", "2", "-b", "16"], "synth 20 sine 440");
    const controller = new AbortController();
    const progress: number[] = [];
    const reading = readWavForSpeech(path, {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p.doneSeconds);
        controller.abort();
      },
    });
    await expect(reading).rejects.toMatchObject({ code: "aborted" });
    expect(progress).toHaveLength(1);
  });
});
