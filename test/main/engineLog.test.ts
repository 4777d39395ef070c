/**
 * The engine process's output reaches Duet's log file: the launcher the app uses, with Electron's
 * utilityProcess.fork replaced by a Node fork of the real engine worker (loading a generated model
 * and a generated whisper model, whose native code prints its own log lines).
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { UtilityProcessLauncher, type UtilityProcessLike } from "../../src/main/electronLauncher.js";
import { openAppLog } from "../../src/main/logging/appLog.js";
import type { FromWorker, ToWorker } from "../../src/main/worker/protocol.js";
import { assistantConfigSchema } from "../../src/engine/session/config.js";
import { defaultSettings } from "../../src/shared/settings.js";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { tinyModelPath } from "../helpers/models.js";
import { tinyWhisperPath } from "../helpers/whisper.js";

describe("the engine process's output in the log file", () => {
  it("writes the engine's lines, native llama.cpp and whisper.cpp logs included, to duet.log", async () => {
    const folder = mkdtempSync(join(tmpdir(), "duet-engine-log-"));
    const log = openAppLog(folder, { echo: false });
    let child: ChildProcess | undefined;
    const launcher = new UtilityProcessLauncher<ToWorker, FromWorker>(
      resolve("src/main/worker/engineWorker.ts"),
      "Duet engine",
      {
        // What utilityProcess.fork gives: postMessage, message and exit events, piped stdout/stderr.
        fork: (modulePath, args, options) => {
          expect(options.stdio).toBe("pipe");
          child = fork(modulePath, args, {
            execArgv: ["--import", "tsx"],
            stdio: ["ignore", "pipe", "pipe", "ipc"],
            serialization: "advanced",
          });
          const c = child;
          return {
            postMessage: (message: unknown) => c.send(message as never),
            kill: () => c.kill(),
            stdout: c.stdout,
            stderr: c.stderr,
            on: (event: string, listener: (...args: unknown[]) => void) => c.on(event, listener),
            once: (event: string, listener: (...args: unknown[]) => void) => c.once(event, listener),
          } as unknown as UtilityProcessLike;
        },
        onOutput: (line, stream) => log.engineOutput(line, stream),
      },
    );
    const worker = launcher.launch();
    const ready = new Promise<FromWorker>((resolveReady) =>
      worker.onMessage((m) => m.type === "status" && m.engine.status !== "loading" && resolveReady(m)),
    );
    const settings = defaultSettings();
    const config = assistantConfigSchema.parse({
      hardware: { ...settings.hardware, gpu: "cpu", threads: 1, contextSize: 1024 },
      reasoning: settings.reasoning,
      speech: settings.speech,
      files: {
        llm: await tinyModelPath({ program: DEMO_PROGRAM }),
        stt: await tinyWhisperPath(),
        voice: null,
        vad: null,
      },
    });
    worker.post({ type: "start", config, history: [], conversation: "c1" });
    expect(await ready).toMatchObject({ type: "status", engine: { status: "ready" } });
    const closed = once(child!, "close"); // after its output streams have ended
    worker.kill();
    await closed;
    log.file.close();

    const lines = readFileSync(log.file.path, "utf8").trim().split("\n");
    const engineLines = lines.filter((l) => / \[engine\] (info|error): /.test(l));
    // whisper.cpp prints these from C++ while the model loads: they are in the file, stamped.
    expect(
      engineLines.some((l) =>
        /\[engine\] info: \[whisper\.cpp\] whisper_model_load: n_vocab\s+= 51864$/.test(l),
      ),
    ).toBe(true);
    // llama.cpp's informational lines too (not only its warnings): the model file and its shape.
    expect(
      engineLines.some((l) =>
        /\[engine\] info: \[llama\.cpp\] llama_model_loader: loaded meta data with \d+ key-value pairs/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(engineLines.some((l) => /\[engine\] info: \[llama\.cpp\] print_info: n_layer += 1$/.test(l))).toBe(
      true,
    );
    // Loading progress dots are no lines of their own.
    expect(engineLines.filter((l) => /\[llama\.cpp\] \.+$/.test(l))).toEqual([]);
    for (const line of engineLines)
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[engine\] /);
  });
});
