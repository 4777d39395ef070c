import type { ForkOptions, UtilityProcess } from "electron";
import type { ProcessHandle, ProcessLauncher } from "./host/processes.js";
import { LineSplitter } from "./logging/logFile.js";

/** Electron's `utilityProcess.fork` (injected, so the launcher can be tested without Electron). */
export type ForkUtility = (modulePath: string, args: string[], options: ForkOptions) => UtilityProcessLike;

/** The parts of a `UtilityProcess` the launcher uses. */
export type UtilityProcessLike = Pick<UtilityProcess, "postMessage" | "kill" | "stdout" | "stderr"> & {
  on(event: "message", listener: (message: unknown) => void): unknown;
  once(event: "exit", listener: (code: number) => void): unknown;
};

export interface UtilityProcessLauncherOptions {
  fork: ForkUtility;
  /**
   * Receives every line the process prints, its native libraries' logs included (the engine sends
   * them to its stderr): they go to Duet's log file.
   */
  onOutput: (line: string, stream: "stdout" | "stderr") => void;
}

/**
 * Runs an entry (the engine, the hardware probe) in an Electron utility process, so a crash or a
 * long native call never freezes or ends the app. Its output is piped into the log.
 */
export class UtilityProcessLauncher<In, Out> implements ProcessLauncher<In, Out> {
  constructor(
    private readonly entry: string,
    private readonly serviceName: string,
    private readonly options: UtilityProcessLauncherOptions,
  ) {}

  launch(): ProcessHandle<In, Out> {
    const child = this.options.fork(this.entry, [], { serviceName: this.serviceName, stdio: "pipe" });
    for (const stream of ["stdout", "stderr"] as const) {
      const lines = new LineSplitter((line) => this.options.onOutput(line, stream));
      child[stream]?.on("data", (chunk: Buffer) => lines.push(chunk));
      child[stream]?.on("end", () => lines.flush());
    }
    return {
      post: (message: In) => child.postMessage(message),
      onMessage: (listener) => child.on("message", (message: unknown) => listener(message as Out)),
      onExit: (listener) => child.once("exit", (code: number) => listener(code)),
      kill: () => void child.kill(),
    };
  }
}
