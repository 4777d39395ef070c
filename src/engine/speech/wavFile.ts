import { readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { abortError, DuetError, isDuetError } from "../errors.js";
import { STT_SAMPLE_RATE, locateWavData, mixToMono, type MonoAudio, type WavInfo } from "./pcm.js";
import { StreamingResampler } from "./resampler.js";

/** How far the conversion of a recording has got, in seconds of audio. */
export interface AudioConversionProgress {
  doneSeconds: number;
  totalSeconds: number;
}

export interface ReadWavOptions {
  /** Called after each block (a few seconds of audio) and once at the end. */
  onProgress?: (progress: AudioConversionProgress) => void;
  signal?: AbortSignal;
  /** Bytes read per block (default 1 MiB); memory stays near this however long the file is. */
  blockBytes?: number;
  /** Output rate (default 16 kHz, what speech-to-text wants). */
  sampleRate?: number;
}

/**
 * Reads a WAV file of any length as mono at 16 kHz for speech-to-text, in a stream: the file is
 * read block by block, mixed down and resampled as it goes (only the output is held, 1/6 of a
 * 48 kHz stereo 16-bit recording's size), with progress after each block. The samples equal
 * `wavToSpeechInput` on the whole file.
 */
export async function readWavForSpeech(
  path: string,
  options: ReadWavOptions = {},
): Promise<MonoAudio & { info: WavInfo }> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const size = (await handle.stat()).size;
    // Chunk headers are a few small reads; the samples are read asynchronously below.
    const layout = locateWavData(
      (offset, length) => {
        const bytes = Buffer.alloc(length);
        return bytes.subarray(0, readSync(handle.fd, bytes, 0, length, offset));
      },
      size,
      path,
    );
    const { info, frames } = layout;
    const to = options.sampleRate ?? STT_SAMPLE_RATE;
    const resampler = info.sampleRate === to ? undefined : new StreamingResampler(info.sampleRate, to);
    const samples = new Float32Array(resampler ? resampler.outputLength(frames) : frames);
    const frameBytes = (info.bitsPerSample / 8) * info.channels;
    const framesPerBlock = Math.max(1, Math.floor((options.blockBytes ?? 2 ** 20) / frameBytes));
    const block = Buffer.alloc(framesPerBlock * frameBytes);
    const mono = new Float32Array(framesPerBlock);
    const totalSeconds = frames / info.sampleRate;
    let written = 0;
    const emit = (chunk: Float32Array): void => {
      samples.set(chunk, written);
      written += chunk.length;
    };
    for (let done = 0; done < frames;) {
      if (options.signal?.aborted) throw abortError(options.signal);
      const want = Math.min(framesPerBlock, frames - done) * frameBytes;
      const { bytesRead } = await handle.read(block, 0, want, layout.dataOffset + done * frameBytes);
      if (bytesRead < want) throw new DuetError("invalid-argument", `${path} ended while it was being read.`);
      const count = mixToMono(block.subarray(0, want), info, mono);
      if (resampler) emit(resampler.push(mono.subarray(0, count)));
      else emit(mono.subarray(0, count));
      done += count;
      options.onProgress?.({ doneSeconds: done / info.sampleRate, totalSeconds });
    }
    if (resampler) emit(resampler.end());
    if (frames === 0) options.onProgress?.({ doneSeconds: 0, totalSeconds: 0 });
    return { samples: samples.subarray(0, written), sampleRate: to, info };
  } catch (error) {
    throw isDuetError(error) ? error : unreadable(path, error);
  } finally {
    await handle.close();
  }
}

function unreadable(path: string, error: unknown): DuetError {
  const code = (error as NodeJS.ErrnoException).code;
  const message =
    code === "ENOENT"
      ? `No such WAV file: ${path}`
      : code === "EISDIR"
        ? `${path} is a folder, not a WAV file.`
        : `Cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`;
  return new DuetError("invalid-argument", message, { cause: error });
}
