import { DuetError } from "../errors.js";
import { resample } from "./resampler.js";

export { resample } from "./resampler.js";

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

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: "pcm" | "float";
}

export const WAV_CONVERT_HINT = "Convert it with: ffmpeg -i INPUT -ar 16000 -ac 1 -c:a pcm_s16le output.wav";

/** Where a WAV's samples are: its format and the byte range of its data chunk. */
export interface WavLayout {
  info: WavInfo;
  dataOffset: number;
  /** Bytes of whole frames in the data chunk (cut at the end of the file). */
  dataLength: number;
  frames: number;
}

/**
 * Finds the format and the data chunk of a RIFF/WAVE file by reading chunk headers only (through
 * `read(offset, length)`, which may return fewer bytes at the end of the file), so a file of any
 * size is located without loading it. Integer PCM 8/16/24/32 bit or 32-bit float, any channel
 * count; other formats get an error that says how to convert them. A chunk size past the end of
 * the file (streamed WAVs such as espeak-ng's, whose data size is 0x7ffff000 or 0xffffffff)
 * reaches to the end.
 */
export function locateWavData(
  read: (offset: number, length: number) => Buffer,
  size: number,
  name = "The audio",
): WavLayout {
  const head = read(0, 12);
  if (
    head.length < 12 ||
    head.toString("ascii", 0, 4) !== "RIFF" ||
    head.toString("ascii", 8, 12) !== "WAVE"
  ) {
    throw new DuetError("invalid-argument", `${name} is not a WAV file. ${WAV_CONVERT_HINT}`);
  }
  let offset = 12;
  let info: WavInfo | undefined;
  let data: { offset: number; length: number } | undefined;
  while (offset + 8 <= size) {
    const header = read(offset, 8);
    if (header.length < 8) break;
    const id = header.toString("ascii", 0, 4);
    const chunkSize = header.readUInt32LE(4);
    const bodyLength = Math.min(size - offset - 8, chunkSize);
    if (id === "fmt ") info = parseFormat(read(offset + 8, Math.min(bodyLength, 64)), name);
    else if (id === "data") data = { offset: offset + 8, length: bodyLength };
    offset += 8 + chunkSize + (chunkSize % 2);
  }
  if (!info || !data)
    throw new DuetError("invalid-argument", `${name} has no audio data. ${WAV_CONVERT_HINT}`);
  const frameBytes = (info.bitsPerSample / 8) * info.channels;
  const frames = Math.floor(data.length / frameBytes);
  return { info, dataOffset: data.offset, dataLength: frames * frameBytes, frames };
}

function parseFormat(body: Buffer, name: string): WavInfo {
  if (body.length < 16)
    throw new DuetError("invalid-argument", `${name} has a damaged format header. ${WAV_CONVERT_HINT}`);
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
      `${name} uses an audio encoding Duet does not read (format ${formatTag}, ${bitsPerSample} bit). ${WAV_CONVERT_HINT}`,
    );
  }
  const info: WavInfo = {
    sampleRate: body.readUInt32LE(4),
    channels: body.readUInt16LE(2),
    bitsPerSample,
    format,
  };
  if (info.channels < 1 || info.sampleRate < 1000 || info.sampleRate > 384_000) {
    throw new DuetError(
      "invalid-argument",
      `${name} has an implausible format (${info.channels} channels at ${info.sampleRate} Hz). ${WAV_CONVERT_HINT}`,
    );
  }
  return info;
}

/** Mixes whole frames of `pcm` (in the WAV's encoding) down to mono floats, written to `out` from `at`. */
export function mixToMono(pcm: Buffer, info: WavInfo, out: Float32Array, at = 0): number {
  const bytes = info.bitsPerSample / 8;
  const channels = info.channels;
  const frames = Math.floor(pcm.length / (bytes * channels));
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const read: (byte: number) => number =
    info.format === "float"
      ? (b) => view.getFloat32(b, true)
      : bytes === 1
        ? (b) => (view.getUint8(b) - 128) / 128
        : bytes === 2
          ? (b) => view.getInt16(b, true) / 32768
          : bytes === 3
            ? (b) => (view.getUint8(b) | (view.getUint8(b + 1) << 8) | (view.getInt8(b + 2) << 16)) / 8388608
            : (b) => view.getInt32(b, true) / 2147483648;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    const first = f * channels * bytes;
    for (let c = 0; c < channels; c++) sum += read(first + c * bytes);
    out[at + f] = sum / channels;
  }
  return frames;
}

/** Reads a whole WAV held in memory (see `locateWavData`), mixing down to mono. */
export function decodeWav(data: Buffer, name = "The audio"): MonoAudio & { info: WavInfo } {
  const layout = locateWavData(
    (offset, length) => data.subarray(offset, Math.min(data.length, offset + length)),
    data.length,
    name,
  );
  const samples = new Float32Array(layout.frames);
  mixToMono(data.subarray(layout.dataOffset, layout.dataOffset + layout.dataLength), layout.info, samples);
  return { samples, sampleRate: layout.info.sampleRate, info: layout.info };
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

/** Any readable WAV held in memory as 16 kHz mono for speech-to-text (files: `readWavForSpeech`). */
export function wavToSpeechInput(data: Buffer, name?: string): MonoAudio {
  const audio = decodeWav(data, name);
  return { samples: resample(audio.samples, audio.sampleRate, STT_SAMPLE_RATE), sampleRate: STT_SAMPLE_RATE };
}
