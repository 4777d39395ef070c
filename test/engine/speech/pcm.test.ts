import { describe, expect, it } from "vitest";
import {
  decodeWav,
  encodeWav,
  resample,
  wavToSpeechInput,
  float32ToInt16,
  int16ToFloat32,
} from "../../../src/engine/speech/pcm.js";

function wavBytes(options: {
  rate: number;
  channels: number;
  bits: number;
  float?: boolean;
  frames: number;
  value?: (frame: number, channel: number) => number;
}): Buffer {
  const bytes = options.bits / 8;
  const data = Buffer.alloc(options.frames * options.channels * bytes);
  for (let f = 0; f < options.frames; f++) {
    for (let c = 0; c < options.channels; c++) {
      const v = options.value ? options.value(f, c) : 0;
      const at = (f * options.channels + c) * bytes;
      if (options.float) data.writeFloatLE(v, at);
      else if (bytes === 1) data.writeUInt8(Math.round(v * 127 + 128), at);
      else if (bytes === 2) data.writeInt16LE(Math.round(v * 32767), at);
      else if (bytes === 3) data.writeIntLE(Math.round(v * 8388607), at, 3);
    }
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(options.float ? 3 : 1, 20);
  header.writeUInt16LE(options.channels, 22);
  header.writeUInt32LE(options.rate, 24);
  header.writeUInt32LE(options.rate * options.channels * bytes, 28);
  header.writeUInt16LE(options.channels * bytes, 32);
  header.writeUInt16LE(options.bits, 34);
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

describe("PCM and WAV", () => {
  it("round-trips 16-bit mono WAV", () => {
    const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 5) * 0.5);
    const decoded = decodeWav(encodeWav({ samples, sampleRate: 22050 }));
    expect(decoded.sampleRate).toBe(22050);
    expect(decoded.info).toMatchObject({ channels: 1, bitsPerSample: 16, format: "pcm" });
    for (let i = 0; i < samples.length; i++) expect(decoded.samples[i]).toBeCloseTo(samples[i]!, 3);
    expect(int16ToFloat32(float32ToInt16(Float32Array.of(1, -1, 0)))).toEqual(
      Float32Array.of(32767 / 32768, -1, 0),
    );
  });

  it("converts stereo float, 8-bit and 24-bit WAVs at any rate to 16 kHz mono", () => {
    const stereo = wavToSpeechInput(
      wavBytes({
        rate: 44100,
        channels: 2,
        bits: 32,
        float: true,
        frames: 44100,
        value: (_f, c) => (c === 0 ? 0.5 : -0.1),
      }),
    );
    expect(stereo.sampleRate).toBe(16000);
    expect(stereo.samples.length).toBe(16000);
    expect(stereo.samples[8000]).toBeCloseTo(0.2, 2); // channels mixed down
    expect(
      decodeWav(wavBytes({ rate: 8000, channels: 1, bits: 8, frames: 10, value: () => 0.5 })).samples[3],
    ).toBeCloseTo(0.5, 1);
    expect(
      decodeWav(wavBytes({ rate: 48000, channels: 1, bits: 24, frames: 10, value: () => -0.25 })).samples[3],
    ).toBeCloseTo(-0.25, 4);
  });

  it("resamples without changing pitch or loudness", () => {
    const rate = 48000;
    const tone = Float32Array.from(
      { length: rate },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate),
    );
    const out = resample(tone, rate, 16000);
    expect(out.length).toBe(16000);
    let crossings = 0;
    for (let i = 1; i < out.length; i++) if (out[i - 1]! < 0 && out[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(438);
    expect(crossings).toBeLessThanOrEqual(442);
    const peak = Math.max(...out.subarray(1000, 15000));
    expect(peak).toBeGreaterThan(0.47);
    expect(peak).toBeLessThan(0.53);
  });

  it("explains what to do with a file that is not a PCM WAV", () => {
    expect(() => decodeWav(Buffer.from("ID3\u0003 this is an mp3"), "question.mp3")).toThrow(
      /question\.mp3 is not a WAV file\. Convert it with: ffmpeg/,
    );
    const alaw = wavBytes({ rate: 8000, channels: 1, bits: 8, frames: 4 });
    alaw.writeUInt16LE(6, 20);
    expect(() => decodeWav(alaw)).toThrow(/encoding Duet does not read \(format 6/);
    const noData = wavBytes({ rate: 16000, channels: 1, bits: 16, frames: 0 }).subarray(0, 36);
    expect(() => decodeWav(noData)).toThrow(/no audio data/);
  });
});
