/**
 * The main process's logger over Duet's log file: its own lines, the engine process's output, the
 * events worth keeping (engine status, errors), and uncaught failures. In development every line
 * is echoed to the terminal too.
 */
import type { AppEvent } from "../../shared/ipc/contract.js";
import { LogFile, type LogLevel, type LogSource } from "./logFile.js";

export interface AppLog {
  readonly file: LogFile;
  write(source: LogSource, level: LogLevel, text: string): void;
  /** Lines the engine process printed (stderr counts as a warning only when it says so). */
  engineOutput(line: string, stream: "stdout" | "stderr"): void;
  /** App events worth a line: engine status changes and errors. */
  event(event: AppEvent): void;
}

export function openAppLog(
  folder: string,
  options: { echo: boolean; maxBytes?: number; keep?: number },
): AppLog {
  const file = new LogFile({
    folder,
    ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
  const write = (source: LogSource, level: LogLevel, text: string): void => {
    file.write(source, text, level);
    if (options.echo) (level === "info" ? process.stdout : process.stderr).write(`[${source}] ${text}\n`);
  };
  return {
    file,
    write,
    engineOutput: (line, stream) =>
      write("engine", stream === "stderr" && /\b(error|failed|fatal)\b/i.test(line) ? "error" : "info", line),
    event: (event) => {
      if (event.type === "engine")
        write(
          "main",
          event.engine.status === "failed" || event.engine.status === "crashed" ? "error" : "info",
          `engine ${event.engine.status}${"message" in event.engine ? `: ${event.engine.message}` : ` (${event.engine.model})`}`,
        );
      else if (event.type === "error") write("main", "error", `${event.stage}: ${event.message}`);
    },
  };
}

/**
 * Uncaught exceptions in the main process go to the log (a monitor: Electron still shows its
 * error dialog). Unhandled rejections become uncaught exceptions under Node's default.
 */
export function logUncaught(log: AppLog): void {
  process.on("uncaughtExceptionMonitor", (error, origin) =>
    log.write("main", "error", `${origin}: ${error.stack ?? String(error)}`),
  );
}
