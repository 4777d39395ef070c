/**
 * Commands keep the native libraries' own log lines (llama.cpp, whisper.cpp, speech-rule-engine's
 * XML parser) off the terminal by default and show all of them with --verbose.
 */
import { describe, expect, it } from "vitest";
import { chainRules, DEMO_PROGRAM, DEMO_THOUGHTS } from "../../../src/engine/tiny-model/demoProgram.js";
import { spokenWav } from "../../helpers/audio.js";
import { runCli } from "../../helpers/cli.js";
import { tinyModelPath } from "../../helpers/models.js";
import { tinyWhisperPath } from "../../helpers/whisper.js";

/**
 * A line a native library prints about its own work: llama.cpp's and ggml's function-named lines
 * (`llama_model_loader: ...`, `print_info: ...`, `load_tensors: ...`, `sched_reserve: ...`),
 * whisper.cpp's (`whisper_model_load: ...`), xmldom's `[xmldom warning]`, or any of them as
 * --verbose shows them (prefixed `[llama.cpp] `, `[whisper.cpp] `, `[speech-rule-engine] `).
 */
const NATIVE_LINE =
  /^(?:\[(?:llama\.cpp|whisper\.cpp|speech-rule-engine)\] |\[xmldom |(?:llama|ggml|gguf|whisper|clip|common)_\w*:|(?:load_tensors|print_info|load|sched_reserve|graph_reserve)\s*:)/;

/** Lines Duet itself writes to stderr: its notices and errors, and the model it uses. */
const OWN_LINE = /^(?:duet: |Using )/;

const stderrLines = (stderr: string): string[] => stderr.split("\n").filter((l) => l.trim() !== "");

/** Lines that are neither Duet's own nor known native ones (shown when a test fails). */
const foreignLines = (stderr: string): string[] =>
  stderrLines(stderr).filter((l) => !OWN_LINE.test(l) && !NATIVE_LINE.test(l));

/** The demo's thoughts, then an answer with inline math that makes xmldom warn (U+FFFD in it). */
const MATH_ANSWER = ["\n\n", "So", " $", "x", "\uFFFD$.", "<|im_end|>"] as const;
const MATH_PROGRAM = {
  rules: [
    ...chainRules(DEMO_THOUGHTS),
    ...chainRules(MATH_ANSWER).filter(([from]) => from !== "\n\n"),
    [
      "\n\n",
      [
        ["So", 30],
        [" yes", 28],
      ],
    ],
    [
      ":",
      [
        [" yes", 3],
        [" no", 0],
      ],
    ],
    ["</think>", "\n\n"],
  ],
} as const;

describe("the native libraries' log lines", () => {
  it("the pattern knows their lines and not Duet's", () => {
    for (const line of [
      "llama_model_loader: loaded meta data with 24 key-value pairs",
      "print_info: n_layer               = 1",
      "load_tensors:   CPU_Mapped model buffer size =     5.25 MiB",
      "ggml_backend_load: loaded CPU backend",
      "whisper_model_load: n_vocab       = 51864",
      "[xmldom warning]\tUnicode replacement character detected",
      "[llama.cpp] llama_context: n_ctx = 8192",
    ])
      expect(line).toMatch(NATIVE_LINE);
    for (const line of ["duet: Model file not found: /x.gguf", "Using /x.gguf on the CPU", "think | Okay"])
      expect(line).not.toMatch(NATIVE_LINE);
  });

  it("npm run ask prints none of llama.cpp's by default, and all of them with --verbose", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const args = ["--model", model, "--gpu", "cpu", "What is two plus two?"];
    const quiet = await runCli("ask.ts", args);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/say {3}\| So the answer is 4\./);
    expect(stderrLines(quiet.stderr).filter((l) => NATIVE_LINE.test(l))).toEqual([]);
    expect(foreignLines(quiet.stderr)).toEqual([]);

    const verbose = await runCli("ask.ts", ["--verbose", ...args]);
    expect(verbose.code).toBe(0);
    const shown = stderrLines(verbose.stderr);
    // llama.cpp's informational lines: the file, the model's shape, its tensors, its context.
    for (const expected of [
      /^\[llama\.cpp\] llama_model_loader: loaded meta data with \d+ key-value pairs/,
      /^\[llama\.cpp\] print_info: n_layer += 1$/,
      /^\[llama\.cpp\] load_tensors: /,
      /^\[llama\.cpp\] llama_context: n_seq_max += 2$/,
    ])
      expect(shown.some((l) => expected.test(l))).toBe(true);
    // Loading progress dots are not lines worth showing.
    expect(shown.filter((l) => /^\[llama\.cpp\] \.+$/.test(l))).toEqual([]);
    expect(foreignLines(verbose.stderr)).toEqual([]);
    // The answer is the same either way.
    expect(verbose.stdout.replace(/TTFT.*/s, "")).toBe(quiet.stdout.replace(/TTFT.*/s, ""));
  });

  it("npm run talk keeps whisper.cpp and llama.cpp quiet by default, and shows both with --verbose", async () => {
    const model = await tinyModelPath({ program: DEMO_PROGRAM });
    const args = [
      "--model",
      model,
      "--gpu",
      "cpu",
      "--wav",
      spokenWav("What is two plus two", { padBefore: 0.3, padAfter: 0.3 }),
      "--stt-model",
      await tinyWhisperPath(),
      "--speed",
      "8",
    ];
    // The generated whisper model recognises nothing: exit code 3, after loading and running it.
    const quiet = await runCli("talk.ts", args, { timeoutMs: 90_000 });
    expect(quiet.code).toBe(3);
    expect(stderrLines(quiet.stderr).filter((l) => NATIVE_LINE.test(l))).toEqual([]);
    expect(foreignLines(quiet.stderr)).toEqual([]);

    const verbose = await runCli("talk.ts", ["--verbose", ...args], { timeoutMs: 90_000 });
    expect(verbose.code).toBe(3);
    const shown = stderrLines(verbose.stderr);
    expect(shown).toContain("[whisper.cpp] whisper_model_load: n_vocab       = 51864");
    expect(shown.some((l) => /^\[llama\.cpp\] llama_model_loader: /.test(l))).toBe(true);
    expect(foreignLines(verbose.stderr)).toEqual([]);
  }, 120_000);

  it("math in a spoken answer prints no [xmldom warning] lines; --verbose shows them as speech-rule-engine's", async () => {
    const model = await tinyModelPath({ program: MATH_PROGRAM });
    const args = ["--model", model, "--gpu", "cpu", "--speed", "10", "--text", "What is x?"];
    const quiet = await runCli("talk.ts", args, { timeoutMs: 90_000 });
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain("say   | So $x\uFFFD$.");
    expect(quiet.stderr).not.toContain("xmldom");
    expect(stderrLines(quiet.stderr).filter((l) => NATIVE_LINE.test(l))).toEqual([]);
    expect(foreignLines(quiet.stderr)).toEqual([]);

    // The same answer with --verbose: the parser's warning was raised, and routed, not lost.
    const verbose = await runCli("talk.ts", ["--verbose", ...args], { timeoutMs: 90_000 });
    expect(verbose.code).toBe(0);
    expect(stderrLines(verbose.stderr)).toContain(
      "[speech-rule-engine] Unicode replacement character detected, source encoding issues?",
    );
    expect(verbose.stderr).not.toContain("[xmldom warning]");
  }, 120_000);
});
