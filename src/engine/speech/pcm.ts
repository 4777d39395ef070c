import { DuetError } from "../errors.js";

/** Mono audio as floats in [-1, 1]. Speech-to-text wants it at 16 kHz. */
export interface MonoAudio {
  samples: Float32Array;
  sampleRate: number;
}

export const STT_SAMPLE_RATE = 16_000;

export const durationMs = (audio: MonoAudio): number => (audio.samples.length * 1000) / audio.sampleRate;

export function int16ToFloat32(input: Int16Array): Float32Array {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i]! / 32768;
  return out;
}

/** A new array over its own ArrayBuffer (offset 0, no spare bytes), so the buffer can be handed on as it is. */
export function float32ToInt16(input: Float32Array): Int16Array<ArrayBuffer> {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const v = Math.max(-1, Math.min(1, input[i]!));
    out[i] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
  }
  return out;
}

export function rms(samples: Float32Array, start = 0, end = samples.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
  return end > start ? Math.sqrt(sum / (end - start)) : 0;
}

/**
 * Band-limited resampling: a windowed-sinc low-pass at the lower of the two Nyquist rates,
 * evaluated at each output instant. Good enough for speech, and dependency-free.
 */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  if (!(from > 0 && to > 0))
    throw new DuetError("invalid-argument", `Cannot resample from ${from} Hz to ${to} Hz.`);
  const ratio = to / from;
  const outLength = Math.floor(samples.length * ratio);
  const out = new Float32Array(outLength);
  const cutoff = Math.min(1, ratio); // relative to the input Nyquist
  const halfWidth = 16;
  const support = Math.ceil(halfWidth / cutoff);
  for (let n = 0; n < outLength; n++) {
    const center = n / ratio;
    const first = Math.max(0, Math.ceil(center - support));
    const last = Math.min(samples.length - 1, Math.floor(center + support));
    let acc = 0;
    let norm = 0;
    for (let k = first; k <= last; k++) {
      const x = (k - center) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * (k - center)) / (support + 1)); // Hann
      const w = sinc * window;
      acc += samples[k]! * w;
      norm += w;
    }
    out[n] = norm !== 0 ? acc / norm : 0;
  }
  return out;
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: "pcm" | "float";
}

/**
 * Reads a RIFF/WAVE file (integer PCM 8/16/24/32 bit or 32-bit float, any channel count),
 * mixing down to mono. Other formats get an error that says how to convert them. A chunk size
 * past the end of the file (streamed WAVs such as espeak-ng's, whose data size is 0x7ffff000 or
 * 0xffffffff) reads up to the end.
 */
export function decodeWav(data: Buffer, name = "The audio"): MonoAudio & { info: WavInfo } {
  const convertHint = `Convert it with: ffmpeg -i INPUT -ar 16000 -ac 1 -c:a pcm_s16le output.wav`;
  if (
    data.length < 12 ||
    data.toString("ascii", 0, 4) !== "RIFF" ||
    data.toString("ascii", 8, 12) !== "WAVE"
  ) {
    throw new DuetError("invalid-argument", `${name} is not a WAV file. ${convertHint}`);
  }
  let offset = 12;
  let info: WavInfo | undefined;
  let pcm: Buffer | undefined;
  while (offset + 8 <= data.length) {
    const id = data.toString("ascii", offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = data.subarray(offset + 8, Math.min(data.length, offset + 8 + size));
    if (id === "fmt ") {
      if (body.length < 16)
        throw new DuetError("invalid-argument", `${name} has a damaged format header. ${convertHint}`);
      let formatTag = body.readUInt16LE(0);
      if (formatTag === 0xfffe && body.length >= 26) formatTag = body.readUInt16LE(24); // WAVE_FORMAT_EXTENSIBLE
      const bitsPerSample = body.readUInt16LE(14);
      const format = formatTag === 1 ? "pcm" : formatTag === 3 ? "float" : undefined;
      if (
        !format ||
        (format === "float" && bitsPerSample !== 32) ||
        (format === "pcm" && ![8, 16, 24, 32].includes(bitsPerSample))
      ) {
        throw new DuetError(
          "invalid-argument",
          `${name} uses an audio encoding Duet does not read (format ${formatTag}, ${bitsPerSample} bit). ${convertHint}`,
        );
      }
      info = { sampleRate: body.readUInt32LE(4), channels: body.readUInt16LE(2), bitsPerSample, format };
      if (info.channels < 1 || info.sampleRate < 1000 || info.sampleRate > 384_000) {
        throw new DuetError(
          "invalid-argument",
          `${name} has an implausible format (${info.channels} channels at ${info.sampleRate} Hz). ${convertHint}`,
        );
      }
    } else if (id === "data") {
      pcm = body;
    }
    offset += 8 + size + (size % 2);
  }
  if (!info || !pcm) throw new DuetError("invalid-argument", `${name} has no audio data. ${convertHint}`);
  const bytes = info.bitsPerSample / 8;
  const frames = Math.floor(pcm.length / (bytes * info.channels));
  const samples = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < info.channels; c++) {
      const at = (f * info.channels + c) * bytes;
      let v: number;
      if (info.format === "float") v = pcm.readFloatLE(at);
      else if (bytes === 1) v = (pcm.readUInt8(at) - 128) / 128;
      else if (bytes === 2) v = pcm.readInt16LE(at) / 32768;
      else if (bytes === 3) v = pcm.readIntLE(at, 3) / 8388608;
      else v = pcm.readInt32LE(at) / 2147483648;
      sum += v;
    }
    samples[f] = sum / info.channels;
  }
  return { samples, sampleRate: info.sampleRate, info };
}

/** 16-bit PCM mono WAV. */
export function encodeWav(audio: MonoAudio): Buffer {
  const pcm = float32ToInt16(audio.samples);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + pcm.byteLength, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(audio.sampleRate, 24);
  header.writeUInt32LE(audio.sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(pcm.byteLength, 40);
  return Buffer.concat([header, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]);
}

/** Any readable WAV as 16 kHz mono for speech-to-text. */
export function wavToSpeechInput(data: Buffer, name?: string): MonoAudio {
  const audio = decodeWav(data, name);
  return { samples: resample(audio.samples, audio.sampleRate, STT_SAMPLE_RATE), sampleRate: STT_SAMPLE_RATE };
}
