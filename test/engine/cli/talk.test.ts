import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodeWav } from "../../../src/engine/speech/pcm.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { recognise, scratch, soxDuration, spokenWav } from "../../helpers/audio.js";
import { runCli } from "../../helpers/cli.js";
import { tinyModelPath } from "../../helpers/models.js";
import { tinyWhisperPath } from "../../helpers/whisper.js";

const talk = (args: string[]) => runCli("talk.ts", args, { timeoutMs: 90_000 });

describe("npm run talk", () => {
  it("answers a typed question aloud and writes a WAV whose length and words check out", async () => {
    const out = scratch("answer.wav");
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stdout } = await talk([
      "--model",
      model,
      "--gpu",
      "cpu",
      "--text",
      "What is two plus two?",
      "--out",
      out,
      "--json",
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number | string | null>;
    expect(summary).toMatchObject({
      transcript: "What is two plus two?",
      answer: "Let me work it out!\n\nSo the answer is 4.",
      endReason: "end-of-turn",
      writerTokens: 12,
      // The model file used, and how far the answer lagged the thoughts (0 with Duet's build).
      model,
    });
    expect(summary.thoughtLagMean).toBeGreaterThanOrEqual(0);
    expect(summary.thoughtLagMax).toBeGreaterThanOrEqual(summary.thoughtLagMean as number);
    expect(summary.releaseToFirstAudioMs).toBeGreaterThan(0);
    expect(Math.abs(soxDuration(out) - (summary.outSeconds as number))).toBeLessThan(0.01);
    expect(summary.outSeconds).toBeGreaterThan(2);
    expect(
      recognise(out, ["let me work it out", "so the answer is four", "the answer is five", "tell me a joke"]),
    ).toBe("let me work it out so the answer is four");
  });

  it("runs the whole spoken path from a WAV through a generated whisper model", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const wav = spokenWav("What is two plus two", { padBefore: 0.3, padAfter: 0.3 });
    const { code, stdout } = await talk([
      "--model",
      model,
      "--gpu",
      "cpu",
      "--wav",
      wav,
      "--stt-model",
      await tinyWhisperPath(),
      "--speed",
      "8",
      "--json",
    ]);
    // Nothing recognised has its own exit code.
    expect(code).toBe(3);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.type === "state" && l.state === "listening")).toBe(true);
    const summary = lines.at(-1)!;
    // The generated whisper model computes for real but knows no words: the turn ends, explained.
    expect(summary.sttMs).toBeGreaterThan(0);
    expect(summary.transcript).toBe("");
    expect(summary.errors).toEqual([
      expect.objectContaining({ stage: "stt", message: expect.stringMatching(/no words were recognised/) }),
    ]);
  });

  it("shows the question and both tracks as whole lines on a pipe, like ask and demo", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const { code, stdout } = await talk([
      "--model",
      model,
      "--gpu",
      "cpu",
      "--speed",
      "10",
      "--text",
      "What is two plus two?",
    ]);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("Question: What is two plus two?");
    expect(lines).toContain("think | Okay, adding small numbers.");
    expect(lines).toContain("say   | Let me work it out!");
    expect(lines).toContain("say   | So the answer is 4.");
    // Whole lines, never one fragment per line ("think | and").
    expect(lines.filter((l) => /^(think|say) +\|/.test(l))).toHaveLength(5);
  });

  it("explains bad audio and missing pieces", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const notWav = scratch("question.mp3");
    writeFileSync(notWav, "ID3 not audio");
    const bad = await talk(["--model", model, "--wav", notWav, "--stt-model", "x.bin"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a WAV file\. Convert it with: ffmpeg/);
    const empty = scratch("empty.wav");
    writeFileSync(empty, encodeWav({ samples: new Float32Array(0), sampleRate: 16000 }));
    expect((await talk(["--model", model, "--wav", empty, "--stt-model", "x.bin"])).stderr).toMatch(
      /holds no audio/,
    );
    const noStt = await talk(["--model", model, "--wav", spokenWav("hello")]);
    expect(noStt.stderr).toMatch(/--wav needs a speech-to-text model/);
    const both = await talk(["--model", model]);
    expect(both.stderr).toMatch(/exactly one of --wav or --text/);
  });
});
