#!/usr/bin/env node
/**
 * npm run talk -- [--model PATH] [--wav FILE | --text "..."] [--out answer.wav] [--json]
 *   [--stt-model PATH] [--voice PATH] [--speed N]
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DuetError } from "../errors.js";
import { openAssistant } from "../session/assistant.js";
import type { SessionEvent, VoiceTurnMetrics } from "../session/voiceSession.js";
import { TimelineSink } from "../speech/answerSpeaker.js";
import { durationMs, encodeWav } from "../speech/pcm.js";
import { readWavForSpeech, type AudioConversionProgress } from "../speech/wavFile.js";
import { ASSISTANT_OPTIONS, ASSISTANT_OPTIONS_USAGE, configForCommand } from "./assistantForCommand.js";
import { parseCommandLine, UsageError } from "./commandLine.js";
import { ansi, EXIT, failAndExit, formatSeconds, parseNumberOption, progressLog } from "./common.js";
import { showNativeLogs } from "./nativeLogs.js";
import { TwoTrackRenderer } from "./twoTrack.js";

const usage = `Usage: npm run talk -- [options] (--wav FILE | --text "...")

Runs one whole voice turn without a window: the WAV is "spoken" while push-to-talk is held (in
real time, or --speed times faster), transcribed, answered with asynchronous reasoning, and the
answer is spoken chunk by chunk; both tracks, the transcript and the per-turn metrics are printed.
Uses your Duet settings; options change them for this run only. Exit code 3: nothing was heard.

  --wav FILE          a recording of the question (any PCM WAV; converted to 16 kHz mono)
  --text "..."        a typed question instead (skips speech-to-text)
  --out FILE          write the spoken answer, with the silences you would hear, to a WAV
  --stt-model PATH    whisper.cpp model (default: the one chosen in Settings)
  --voice PATH        a downloaded voice folder (Piper or Kokoro); default: the system voice
  --language CODE     speech-to-text language (default en)
  --speed N           play the WAV and the answer N times faster than real time (default 1)
${ASSISTANT_OPTIONS_USAGE}
`;

const TALK_OPTIONS = {
  ...ASSISTANT_OPTIONS,
  wav: { type: "string" },
  text: { type: "string" },
  out: { type: "string" },
  "stt-model": { type: "string" },
  voice: { type: "string" },
  speed: { type: "string" },
  language: { type: "string" },
} as const;

/** A file a flag names must exist, or the error says which flag and which file. */
function requireFile(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const full = resolve(path);
  if (!existsSync(full)) throw new UsageError(`--${flag}: no such file or folder: ${full}`);
  return full;
}

/** Converting a long recording takes a moment: say how far it got, every tenth of the way. */
function conversionLog(path: string, json: boolean): (progress: AudioConversionProgress) => void {
  const log = progressLog(json);
  let shown = 0;
  return ({ doneSeconds, totalSeconds }) => {
    if (totalSeconds < 30) return;
    const tenths = Math.floor((10 * doneSeconds) / totalSeconds);
    if (tenths <= shown) return;
    shown = tenths;
    log(`Converting ${path} for speech-to-text: ${tenths * 10}% of ${formatSeconds(totalSeconds * 1000)}`);
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let json = args.includes("--json");
  try {
    const { values } = parseCommandLine(args, TALK_OPTIONS, "talk");
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    json = values.json ?? false;
    showNativeLogs(values.verbose);
    if (!values.wav === !values.text) throw new UsageError("Give exactly one of --wav or --text.");
    if (values.text !== undefined && values.text.trim() === "")
      throw new UsageError("The --text question is empty.");
    const speed = parseNumberOption("speed", values.speed, 0.1, 100) ?? 1;

    // Check the inputs before loading anything heavy.
    const audio = values.wav
      ? await readWavForSpeech(values.wav, { onProgress: conversionLog(values.wav, json) })
      : undefined;
    if (audio && audio.samples.length === 0)
      throw new DuetError("invalid-argument", `${values.wav} holds no audio.`);

    const sttModel = requireFile("stt-model", values["stt-model"]);
    const voice = requireFile("voice", values.voice);
    const { config, notices } = await configForCommand(values);
    if (sttModel) config.files.stt = sttModel;
    if (voice) config.files.voice = voice;
    if (values.language) config.speech.language = values.language;
    if (audio && !config.files.stt)
      throw new DuetError(
        "model-not-found",
        "--wav needs a speech-to-text model: pass --stt-model PATH (a whisper.cpp ggml file), or download one with `npm run models -- download whisper-base.en`.",
      );
    const log = (line: string) => process.stderr.write(json ? "" : ansi.dim(`${line}\n`));
    for (const notice of notices) log(`duet: ${notice}`);
    const now = () => performance.now();
    // The answer's timeline starts when the question is asked, not while the models load.
    let start = now();
    const sink = new TimelineSink(() => now() - start, speed);
    const assistant = await openAssistant(config, { sink, now });
    start = now();
    const session = assistant.session!;
    try {
      for (const notice of assistant.notices) log(`duet: ${notice}`);
      if (audio && assistant.speechToText === null)
        throw new DuetError(
          "model-unreadable",
          "Speech-to-text could not start, so the --wav question cannot be heard.",
        );
      let metrics: VoiceTurnMetrics | undefined;
      let transcript = "";
      const errors: Array<{ stage: string; message: string }> = [];
      // The same live view as `ask` and `demo`: the question, then both tracks side by side.
      const renderer = json ? undefined : new TwoTrackRenderer(process.stdout, values.text ?? "");
      session.on((event: SessionEvent) => {
        if (json)
          process.stdout.write(
            `${JSON.stringify(event.type === "chunk" ? { type: "chunk", chunk: event.chunk } : event)}\n`,
          );
        if (event.type === "metrics") metrics = event.metrics;
        if (event.type === "error") errors.push({ stage: event.stage, message: event.message });
        if (event.type === "transcript" && event.final) transcript = event.committed;
        if (!renderer) return;
        if (event.type === "transcript" && audio) {
          renderer.setQuestion(
            `${event.committed}${event.tentative ? ` ${event.tentative}` : ""}`.trim(),
            event.final,
          );
        } else if (event.type === "turn") {
          renderer.update(event.event);
        } else if (event.type === "error") {
          renderer.note(`${event.stage === "stt" ? "speech-to-text" : event.stage} error: ${event.message}`);
        }
      });

      if (audio) {
        session.pushToTalkDown();
        const frame = 320; // 20 ms
        for (let at = 0; at < audio.samples.length; at += frame) {
          session.audio(audio.samples.subarray(at, at + frame));
          if (speed < 100) await new Promise((resolve) => setTimeout(resolve, 20 / speed));
        }
        await session.pushToTalkUp();
      } else {
        transcript = values.text!;
        session.sendText(values.text!);
      }
      await session.whenIdle();
      renderer?.finish();

      const sampleRate = sink.sampleRate;
      let wavSeconds = 0;
      if (values.out) {
        const rendered = sink.render(sampleRate ?? 16000);
        await writeFile(values.out, encodeWav(rendered));
        wavSeconds = durationMs(rendered) / 1000;
      }
      const summary = {
        transcript,
        answer: assistant.engine.history.at(-1)?.answer ?? "",
        model: assistant.model.path,
        ...(metrics ?? {}),
        ...(values.out ? { out: values.out, outSeconds: Number(wavSeconds.toFixed(3)) } : {}),
        errors,
      };
      if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else if (metrics) {
        process.stdout.write(
          `\nrelease to first audio ${formatSeconds(metrics.releaseToFirstAudioMs)}   speech-to-text ${formatSeconds(metrics.sttMs)}   ` +
            `TTFT ${formatSeconds(metrics.ttftMs)}   ` +
            `STFT ${metrics.stft ?? "-"}   total delay ${metrics.totalDelay.toFixed(2)} s   adjusted ${metrics.adjustedDelay.toFixed(2)} s   ` +
            `${metrics.answerTokensPerSecond.toFixed(1)} answer tokens/s   end: ${metrics.endReason}\n` +
            (values.out ? `Wrote ${values.out} (${wavSeconds.toFixed(2)} s)\n` : ""),
        );
      }
      // Nothing recognised is its own outcome (exit 3), not a failure of Duet.
      if (audio && transcript.trim() === "") process.exitCode = EXIT.nothingHeard;
      else if (!metrics && errors.length > 0) process.exitCode = EXIT.failed;
    } finally {
      await assistant.dispose();
    }
  } catch (error) {
    failAndExit(error, { json, usage });
  }
}

void main();
