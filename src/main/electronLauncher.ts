import type { ForkOptions, UtilityProcess } from "electron";
import type { WorkerHandle, WorkerLauncher } from "./host/engineHost.js";
import { LineSplitter } from "./logging/logFile.js";
import type { FromWorker, ToWorker } from "./worker/protocol.js";

/** Electron's `utilityProcess.fork` (injected, so the launcher can be tested without Electron). */
export type ForkUtility = (modulePath: string, args: string[], options: ForkOptions) => UtilityProcessLike;

/** The parts of a `UtilityProcess` the launcher uses. */
export type UtilityProcessLike = Pick<UtilityProcess, "postMessage" | "kill" | "stdout" | "stderr"> & {
  on(event: "message", listener: (message: unknown) => void): unknown;
  on(event: "exit", listener: (code: number) => void): unknown;
};

export interface UtilityProcessLauncherOptions {
  fork: ForkUtility;
  /**
   * Receives every line the engine process prints, its native libraries' logs included (llama.cpp
   * and whisper.cpp write to stderr themselves): they go to Duet's log file.
   */
  onOutput: (line: string, stream: "stdout" | "stderr") => void;
}

/** Runs the engine in an Electron utility process, so a crash or a long native call never freezes the window. */
export class UtilityProcessLauncher implements WorkerLauncher {
  constructor(
    private readonly entry: string,
    private readonly options: UtilityProcessLauncherOptions,
  ) {}

  launch(): WorkerHandle {
    const child = this.options.fork(this.entry, [], { serviceName: "Duet engine", stdio: "pipe" });
    for (const stream of ["stdout", "stderr"] as const) {
      const lines = new LineSplitter((line) => this.options.onOutput(line, stream));
      child[stream]?.on("data", (chunk: Buffer) => lines.push(chunk));
      child[stream]?.on("end", () => lines.flush());
    }
    return {
      post: (message: ToWorker) => child.postMessage(message),
      onMessage: (listener) => child.on("message", (message: unknown) => listener(message as FromWorker)),
      onExit: (listener) => child.on("exit", (code: number) => listener(code)),
      kill: () => void child.kill(),
    };
  }
}
