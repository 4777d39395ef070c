import { describe, expect, it } from "vitest";
import { StreamingResampler, resample } from "../../../src/engine/speech/resampler.js";

/** The definition, one output at a time (the implementation before the phase tables and streaming). */
function referenceResample(samples: Float32Array, from: number, to: number): Float32Array {
  const ratio = to / from;
  const out = new Float32Array(Math.floor(samples.length * ratio));
  const cutoff = Math.min(1, ratio);
  const support = Math.ceil(16 / cutoff);
  for (let n = 0; n < out.length; n++) {
    const center = n / ratio;
    const first = Math.max(0, Math.ceil(center - support));
    const last = Math.min(samples.length - 1, Math.floor(center + support));
    let acc = 0;
    let norm = 0;
    for (let k = first; k <= last; k++) {
      const x = (k - center) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = sinc * (0.5 + 0.5 * Math.cos((Math.PI * (k - center)) / (support + 1)));
      acc += samples[k]! * w;
      norm += w;
    }
    out[n] = norm !== 0 ? acc / norm : 0;
  }
  return out;
}

/** Seeded noise plus a tone, so every tap matters. */
function signal(length: number, seed: number): Float32Array {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Float32Array.from({ length }, (_, i) => 0.3 * Math.sin(i / 7) + 0.2 * random());
}

/** Pushes `samples` in chunks of the given sizes (cycled), then ends. */
function streamed(samples: Float32Array, from: number, to: number, sizes: number[]): Float32Array {
  const resampler = new StreamingResampler(from, to);
  const parts: Float32Array[] = [];
  for (let at = 0, i = 0; at < samples.length; i++) {
    const size = sizes[i % sizes.length]!;
    parts.push(resampler.push(samples.subarray(at, at + size)));
    at += size;
  }
  parts.push(resampler.end());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const maxDifference = (a: Float32Array, b: Float32Array): number => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

describe("streaming resampler", () => {
  const pairs: Array<[number, number]> = [
    [48000, 16000],
    [44100, 16000],
    [22050, 16000],
    [11025, 16000],
    [8000, 16000],
    [96000, 16000],
    [44101, 16000], // coprime rates: 16,000 phases
    [16000, 48000],
  ];
  for (const [from, to] of pairs) {
    it(`${from} Hz -> ${to} Hz equals the definition, whole or in chunks of any size`, () => {
      const input = signal(Math.round(from * 0.7) + 13, from);
      const expected = referenceResample(input, from, to);
      const whole = resample(input, from, to);
      expect(whole.length).toBe(expected.length);
      expect(maxDifference(whole, expected)).toBeLessThan(1e-6);
      for (const sizes of [[1], [0, 7, 1000, 3], [4096], [input.length]]) {
        const chunked = streamed(input, from, to, sizes);
        expect(chunked.length).toBe(expected.length);
        expect(maxDifference(chunked, whole)).toBe(0);
      }
    });
  }

  it("computes the weights per sample for rate pairs whose phase table would be too large", () => {
    const [from, to] = [383_999, 16_000]; // 16,000 phases x 769 taps: past the table's limit
    const input = signal(Math.round(from * 0.05), 5);
    const expected = referenceResample(input, from, to);
    const chunked = streamed(input, from, to, [10_007]);
    expect(chunked.length).toBe(expected.length);
    expect(maxDifference(chunked, expected)).toBeLessThan(1e-6);
  });

  it("handles signals shorter than its taps, and empty ones", () => {
    for (const length of [0, 1, 5, 40]) {
      const input = signal(length, 3);
      const expected = referenceResample(input, 48000, 16000);
      expect(maxDifference(streamed(input, 48000, 16000, [2]), expected)).toBeLessThan(1e-6);
      expect(streamed(input, 48000, 16000, [2]).length).toBe(expected.length);
    }
  });

  it("keeps only the taps it still needs, however long the input", () => {
    const resampler = new StreamingResampler(48000, 16000);
    const chunk = signal(48000, 9);
    let produced = 0;
    for (let second = 0; second < 120; second++) produced += resampler.push(chunk).length;
    produced += resampler.end().length;
    expect(produced).toBe(120 * 16000);
    // Its buffer holds one chunk and the filter's support, not two minutes of audio.
    const buffer = (resampler as unknown as { buffer: Float32Array }).buffer;
    expect(buffer.length).toBeLessThan(2 * 48000 + 1000);
  });

  it("refuses rates that are not whole positive numbers of hertz", () => {
    expect(() => new StreamingResampler(0, 16000)).toThrow(/Cannot resample from 0 Hz/);
    expect(() => new StreamingResampler(44100.5, 16000)).toThrow(/whole numbers of hertz/);
    const resampler = new StreamingResampler(48000, 16000);
    resampler.end();
    expect(() => resampler.push(new Float32Array(1))).toThrow(/already ended/);
  });

  it("returns the input itself when the rates match", () => {
    const input = signal(100, 1);
    expect(resample(input, 16000, 16000)).toBe(input);
  });
});
