import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuetError } from "../../errors.js";
import { decodeWav, durationMs } from "../pcm.js";
import type { SpeechSynthesizer, SynthesisOptions, SynthesizedSpeech } from "./synthesizer.js";

interface Command {
  program: string;
  args: (text: string, rate: number, outFile: string) => string[];
  /** The WAV comes on stdout instead of a file. */
  stdout: boolean;
  /** The text goes in on stdin. Otherwise stdin is not connected, so a voice killed early cannot raise EPIPE on it. */
  stdin: boolean;
}

function commandFor(platform: NodeJS.Platform): Command {
  if (platform === "darwin") {
    return {
      program: "say",
      args: (text, rate, out) => [
        "-r",
        String(Math.round(190 * rate)),
        "--file-format=WAVE",
        "--data-format=LEI16@22050",
        "-o",
        out,
        text,
      ],
      stdout: false,
      stdin: false,
    };
  }
  if (platform === "win32") {
    // The text goes in on stdin, so no quoting of user text is ever needed.
    const script = (rate: number, out: string) =>
      [
        "Add-Type -AssemblyName System.Speech;",
        "$s = New-Object System.Speech.Synthesis.SpeechSynthesizer;",
        `$s.Rate = ${Math.max(-10, Math.min(10, Math.round((rate - 1) * 10)))};`,
        `$s.SetOutputToWaveFile('${out.replace(/'/g, "''")}');`,
        `$s.Speak([Console]::In.ReadToEnd());`,
        "$s.Dispose();",
      ].join(" ");
    return {
      program: "powershell.exe",
      args: (_text, rate, out) => ["-NoProfile", "-NonInteractive", "-Command", script(rate, out)],
      stdout: false,
      stdin: true,
    };
  }
  return {
    program: "espeak-ng",
    args: (text, rate) => ["--stdout", "-v", "en-us", "-s", String(Math.round(170 * rate)), "--", text],
    stdout: true,
    stdin: false,
  };
}

/**
 * The operating system's voice, until a neural voice is downloaded: espeak-ng on Linux, `say` on
 * macOS, SAPI on Windows, each producing 16-bit PCM.
 */
export class SystemVoice implements SpeechSynthesizer {
  readonly name: string;
  private readonly command: Command;

  constructor(platform: NodeJS.Platform = process.platform) {
    this.command = commandFor(platform);
    this.name = `system (${this.command.program})`;
  }

  async synthesize(text: string, options: SynthesisOptions = {}): Promise<SynthesizedSpeech> {
    const started = performance.now();
    if (options.signal?.aborted) throw new DuetError("aborted", "Speech synthesis cancelled.");
    const folder = this.command.stdout ? undefined : await mkdtemp(join(tmpdir(), "duet-voice-"));
    const outFile = folder ? join(folder, "speech.wav") : "";
    try {
      const data = await new Promise<Buffer>((resolve, reject) => {
        const child = spawn(this.command.program, this.command.args(text, options.rate ?? 1, outFile), {
          stdio: [this.command.stdin ? "pipe" : "ignore", "pipe", "pipe"],
        });
        // A voice killed by a barge-in closes its pipes early; that must never become an unhandled error.
        child.stdin?.on("error", () => undefined);
        child.stdout?.on("error", () => undefined);
        const out: Buffer[] = [];
        let err = "";
        const onAbort = () => child.kill("SIGKILL");
        options.signal?.addEventListener("abort", onAbort, { once: true });
        child.stdout?.on("data", (d: Buffer) => out.push(d));
        child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", (error: NodeJS.ErrnoException) =>
          reject(
            new DuetError(
              "model-not-found",
              error.code === "ENOENT"
                ? `The system voice (${this.command.program}) is not installed.${this.command.program === "espeak-ng" ? " Install it with your package manager (e.g. apt install espeak-ng), or download a voice in Duet's settings." : ""}`
                : `The system voice failed to start: ${error.message}`,
              { cause: error },
            ),
          ),
        );
        child.on("close", (code) => {
          options.signal?.removeEventListener("abort", onAbort);
          if (options.signal?.aborted) return reject(new DuetError("aborted", "Speech synthesis cancelled."));
          if (code !== 0)
            return reject(
              new DuetError(
                "decode-failed",
                `The system voice failed (exit ${code}): ${err.trim().slice(0, 200)}`,
              ),
            );
          resolve(Buffer.concat(out));
        });
        if (this.command.stdin) child.stdin?.end(text);
      });
      // espeak-ng streams its WAV with placeholder sizes (data size 0x7ffff000); decodeWav reads such a file to its end.
      const wav = decodeWav(
        this.command.stdout ? data : await readFile(outFile),
        "The system voice's output",
      );
      return {
        samples: wav.samples,
        sampleRate: wav.sampleRate,
        durationMs: durationMs(wav),
        synthMs: performance.now() - started,
      };
    } finally {
      if (folder) await rm(folder, { recursive: true, force: true });
    }
  }

  async dispose(): Promise<void> {}
}
