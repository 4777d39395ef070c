import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wavToSpeechInput, type MonoAudio } from "../../src/engine/speech/pcm.js";

const folder = mkdtempSync(join(tmpdir(), "duet-audio-"));
let counter = 0;

/** Speech made by espeak-ng (Debian package), optionally padded with silence by sox, as a WAV path. */
export function spokenWav(
  text: string,
  options: { padBefore?: number; padAfter?: number; rate?: number } = {},
): string {
  const raw = join(folder, `say-${counter++}.wav`);
  execFileSync("espeak-ng", ["-v", "en-us", "-s", String(options.rate ?? 160), "-w", raw, text]);
  if (!options.padBefore && !options.padAfter) return raw;
  const padded = join(folder, `pad-${counter++}.wav`);
  execFileSync("sox", [raw, padded, "pad", String(options.padBefore ?? 0), String(options.padAfter ?? 0)]);
  return padded;
}

/** Joins WAVs with sox (same format assumed). */
export function joinWavs(paths: string[]): string {
  const out = join(folder, `join-${counter++}.wav`);
  execFileSync("sox", [...paths, out]);
  return out;
}

export function silenceWav(seconds: number, rate = 22050): string {
  const out = join(folder, `silence-${counter++}.wav`);
  execFileSync("sox", ["-n", "-r", String(rate), "-c", "1", "-b", "16", out, "trim", "0", String(seconds)]);
  return out;
}

export function noiseWav(seconds: number, amplitude: number): string {
  const out = join(folder, `noise-${counter++}.wav`);
  execFileSync("sox", [
    "-n",
    "-r",
    "16000",
    "-c",
    "1",
    "-b",
    "16",
    out,
    "synth",
    String(seconds),
    "pinknoise",
    "vol",
    String(amplitude),
  ]);
  return out;
}

export const loadSpeech = (path: string): MonoAudio => wavToSpeechInput(readFileSync(path), path);

/** Duration in seconds as sox measures it. */
export function soxDuration(path: string): number {
  return Number(execFileSync("soxi", ["-D", path]).toString().trim());
}

/** Which of a few phrases pocketsphinx hears in a WAV (a grammar of whole phrases, as exact as it gets). */
export function recognise(path: string, phrases: string[]): string {
  const wav16 = join(folder, `rec-${counter++}.wav`);
  execFileSync("sox", [path, "-r", "16000", "-c", "1", "-b", "16", wav16]);
  const grammar = join(folder, `g-${counter++}.gram`);
  writeFileSync(
    grammar,
    `#JSGF V1.0;\ngrammar g;\npublic <s> = <p>+;\n<p> = ${phrases.map((p) => `(${p.toLowerCase()})`).join(" | ")};\n`,
  );
  return execFileSync(
    "pocketsphinx_continuous",
    [
      "-infile",
      wav16,
      "-hmm",
      "/usr/share/pocketsphinx/model/en-us/en-us",
      "-dict",
      "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
      "-jsgf",
      grammar,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  )
    .toString()
    .trim();
}

export const scratch = (name: string): string => join(folder, `${counter++}-${name}`);
