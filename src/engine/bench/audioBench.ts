#!/usr/bin/env node
/**
 * npx tsx src/engine/bench/audioBench.ts [--minutes N] [--rate HZ] [--channels N] [--json]
 *
 * Measures how long a long recording takes to become speech-to-text input (read, mixed down to
 * mono, resampled to 16 kHz in a stream): a generated WAV (a tone and noise, 16-bit), 10 minutes
 * at 48 kHz stereo by default. Reports seconds, times faster than real time, and peak memory.
 */
import { open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { failAndExit, parseIntegerOption, progressLog } from "../cli/common.js";
import { readWavForSpeech } from "../speech/wavFile.js";

/** Writes a 16-bit PCM WAV of `seconds` at `rate` Hz, block by block (never the whole file in memory). */
async function writeTestWav(path: string, seconds: number, rate: number, channels: number): Promise<void> {
  const frames = seconds * rate;
  const dataBytes = frames * channels * 2;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write("WAVEfmt ", 8, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(dataBytes, 40);
  const file = await open(path, "w");
  try {
    await file.write(header);
    const block = Buffer.alloc(rate * channels * 2); // one second
    let seed = 1;
    for (let second = 0; second < seconds; second++) {
      for (let f = 0; f < rate; f++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const t = second + f / rate;
        const value = 0.4 * Math.sin(2 * Math.PI * 220 * t) + 0.1 * (seed / 2 ** 30 - 1);
        for (let c = 0; c < channels; c++)
          block.writeInt16LE(Math.round(value * 32767), (f * channels + c) * 2);
      }
      await file.write(block);
    }
  } finally {
    await file.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string" },
      rate: { type: "string" },
      channels: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const minutes = parseIntegerOption("minutes", values.minutes, 1) ?? 10;
  const rate = parseIntegerOption("rate", values.rate, 1000) ?? 48_000;
  const channels = parseIntegerOption("channels", values.channels, 1) ?? 2;
  const json = values.json ?? false;
  const log = progressLog(json);
  const path = join(tmpdir(), `duet-audio-bench-${process.pid}.wav`);
  try {
    log(`Writing a ${minutes}-minute ${rate} Hz ${channels}-channel WAV...`);
    await writeTestWav(path, minutes * 60, rate, channels);
    let progressCalls = 0;
    const started = performance.now();
    const audio = await readWavForSpeech(path, { onProgress: () => progressCalls++ });
    const seconds = (performance.now() - started) / 1000;
    const result = {
      audioSeconds: minutes * 60,
      rate,
      channels,
      convertSeconds: Number(seconds.toFixed(2)),
      timesRealTime: Math.round((minutes * 60) / seconds),
      outputSamples: audio.samples.length,
      progressCalls,
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
    log(
      `Converted ${minutes} min of ${rate} Hz audio to 16 kHz mono in ${result.convertSeconds} s ` +
        `(${result.timesRealTime}x real time, ${progressCalls} progress reports, ${result.rssMb} MB resident).`,
    );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await rm(path, { force: true });
  }
}

main().catch((error: unknown) => failAndExit(error));
