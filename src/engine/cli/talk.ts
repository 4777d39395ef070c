#!/usr/bin/env node
/**
 * npm run talk -- [--model PATH] [--wav FILE | --text "..."] [--out answer.wav] [--json]
 *   [--stt-model PATH] [--voice PATH] [--speed N]
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DuetError } from "../errors.js";
import { ReasoningEngine } from "../reasoning/engine.js";
import { VoiceSession, type SessionEvent, type VoiceTurnMetrics } from "../session/voiceSession.js";
import { TimelineSink } from "../speech/answerSpeaker.js";
import { durationMs, encodeWav } from "../speech/pcm.js";
import { readWavForSpeech, type AudioConversionProgress } from "../speech/wavFile.js";
import { loadMathSpeech } from "../speech/speakable.js";
import { WhisperRecognizer, type SpeechRecognizer } from "../speech/stt.js";
import { NeuralVoice } from "../speech/tts/neuralVoice.js";
import type { SpeechSynthesizer } from "../speech/tts/synthesizer.js";
import { SystemVoice } from "../speech/tts/systemVoice.js";
import { SILERO_MODEL_FILE, loadVad } from "../speech/vad.js";
import { modelsDir } from "../paths.js";
import {
  ansi,
  defaultModelPath,
  failAndExit,
  formatSeconds,
  parseNumberOption,
  parseTurnOptions,
  progressLog,
  TURN_OPTIONS,
} from "./common.js";

const usage = `Usage: npm run talk -- [options] (--wav FILE | --text "...")

Runs one whole voice turn without a window: the WAV is "spoken" while push-to-talk is held (in
real time, or --speed times faster), transcribed, answered with asynchronous reasoning, and the
answer is spoken chunk by chunk; both tracks, the transcript and the per-turn metrics are printed.

  --wav FILE          a recording of the question (any PCM WAV; converted to 16 kHz mono)
  --text "..."        a typed question instead (skips speech-to-text)
  --out FILE          write the spoken answer, with the silences you would hear, to a WAV
  --model PATH        reasoning model (default: the newest in Duet's model folder)
  --stt-model PATH    whisper.cpp model (needed with --wav)
  --voice PATH        a downloaded voice folder (Piper or Kokoro); default: the system voice
  --speed N           play the WAV and the answer N times faster than real time (default 1)
  --mode MODE         async (default), thinking or nothinking
  --layout LAYOUT     paper (default) or compact
  --max-steps N       step budget (default 1024)
  --gpu BACKEND       auto (default), cuda, vulkan, metal or cpu
  --language CODE     speech-to-text language (default en)
  --json              one JSON event per line; the last line is a summary with the metrics
`;

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
  const { values } = parseArgs({
    options: {
      wav: { type: "string" },
      text: { type: "string" },
      out: { type: "string" },
      ...TURN_OPTIONS,
      "stt-model": { type: "string" },
      voice: { type: "string" },
      speed: { type: "string" },
      language: { type: "string" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const json = values.json ?? false;
  try {
    if (!values.wav === !values.text)
      throw new DuetError("invalid-argument", `Give exactly one of --wav or --text.\n\n${usage}`);
    if (values.text !== undefined && values.text.trim() === "")
      throw new DuetError("invalid-argument", "The --text question is empty.");
    const speed = parseNumberOption("speed", values.speed, 0.1, 100) ?? 1;
    const { mode, layout, maxSteps, gpu } = parseTurnOptions(values);

    // Check the inputs before loading anything heavy (and the options before converting a long recording).
    if (values.wav && !values["stt-model"])
      throw new DuetError(
        "invalid-argument",
        "--wav needs a speech-to-text model: pass --stt-model PATH (a whisper.cpp ggml file).",
      );
    const audio = values.wav
      ? await readWavForSpeech(values.wav, { onProgress: conversionLog(values.wav, json) })
      : undefined;
    if (audio && audio.samples.length === 0)
      throw new DuetError("invalid-argument", `${values.wav} holds no audio.`);

    const modelPath = values.model ?? (await defaultModelPath());
    const log = (line: string) => process.stderr.write(json ? "" : ansi.dim(`${line}\n`));
    const engine = await ReasoningEngine.open({
      modelPath,
      ...(gpu ? { gpu } : {}),
      ...(layout ? { layout } : {}),
      ...(maxSteps ? { maxSteps } : {}),
    });
    let recognizer: SpeechRecognizer | undefined;
    let synthesizer: SpeechSynthesizer | undefined;
    try {
      if (values["stt-model"])
        recognizer = await WhisperRecognizer.load(values["stt-model"], {
          gpu: gpu !== undefined && gpu !== "cpu",
        });
      synthesizer = values.voice ? await NeuralVoice.load(values.voice) : new SystemVoice();
      const { vad, fallbackReason } = await loadVad(join(modelsDir(), SILERO_MODEL_FILE));
      if (fallbackReason) log(`Voice activity detection falls back to energy: ${fallbackReason}`);
      const math = await loadMathSpeech().catch(() => undefined);
      const start = performance.now();
      const now = () => performance.now();
      const sink = new TimelineSink(() => now() - start, speed);
      const session = new VoiceSession({
        engine,
        ...(recognizer ? { recognizer } : {}),
        vad,
        synthesizer,
        sink,
        ...(values.language ? { language: values.language } : {}),
        ...(mode ? { mode } : {}),
        ...(math ? { math } : {}),
        now,
      });
      let metrics: VoiceTurnMetrics | undefined;
      let transcript = "";
      const errors: Array<{ stage: string; message: string }> = [];
      let track: "think" | "say" | undefined;
      session.on((event: SessionEvent) => {
        if (json)
          process.stdout.write(
            `${JSON.stringify(event.type === "chunk" ? { type: "chunk", chunk: event.chunk } : event)}\n`,
          );
        if (event.type === "metrics") metrics = event.metrics;
        if (event.type === "error") errors.push({ stage: event.stage, message: event.message });
        if (event.type === "transcript" && event.final) transcript = event.committed;
        if (json) return;
        if (event.type === "transcript") {
          process.stdout.write(
            `${event.final ? "you said" : "hearing "} | ${event.committed}${event.tentative ? ansi.dim(` ${event.tentative}`) : ""}\n`,
          );
        } else if (
          event.type === "turn" &&
          (event.event.type === "thought" || event.event.type === "answer")
        ) {
          const next = event.event.type === "thought" ? "think" : "say";
          if (next !== track) process.stdout.write(`\n${next === "think" ? "think |" : "say   |"} `);
          track = next;
          process.stdout.write(next === "think" ? ansi.dim(event.event.text) : event.event.text);
        } else if (event.type === "error") {
          process.stderr.write(`\n${event.stage} error: ${event.message}\n`);
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
      if (!json) process.stdout.write("\n");

      const sampleRate = sink.sampleRate;
      let wavSeconds = 0;
      if (values.out) {
        const rendered = sink.render(sampleRate ?? 16000);
        await writeFile(values.out, encodeWav(rendered));
        wavSeconds = durationMs(rendered) / 1000;
      }
      const summary = {
        transcript,
        answer: engine.history.at(-1)?.answer ?? "",
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
      if (!metrics && errors.length > 0) process.exitCode = 1;
    } finally {
      await recognizer?.dispose();
      await synthesizer?.dispose();
      await engine.dispose();
    }
  } catch (error) {
    failAndExit(error, json);
  }
}

void main();
