/**
 * Duet's log file: one file in the data folder for the main process and the engine process (whose
 * output, native llama.cpp and whisper.cpp lines included, the main process writes here; see
 * electronLauncher.ts). Rotated by size: `duet.log`, then `duet.1.log` ... `duet.<keep>.log`.
 * Logging never takes the app down: if the folder cannot be written, the log is switched off and
 * `problem` says why.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

export type LogSource = "main" | "engine" | "updater";
export type LogLevel = "info" | "warn" | "error";

export interface LogFileOptions {
  folder: string;
  /** Default duet.log. */
  fileName?: string;
  /** Size at which the file is rotated. Default 5 MB. */
  maxBytes?: number;
  /** Older files kept beside the current one. Default 3. */
  keep?: number;
  /** Default: the system clock. */
  now?: () => Date;
}

/** Longest line written as one (longer ones are cut into pieces of this size). */
const MAX_LINE = 8192;

export class LogFile {
  readonly path: string;
  private readonly folder: string;
  private readonly baseName: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly now: () => Date;
  private fd: number | undefined;
  private size = 0;
  private failure: string | undefined;

  constructor(options: LogFileOptions) {
    this.folder = options.folder;
    const fileName = options.fileName ?? "duet.log";
    this.baseName = fileName.replace(/\.log$/, "");
    this.path = join(this.folder, fileName);
    this.maxBytes = options.maxBytes ?? 5_000_000;
    this.keep = options.keep ?? 3;
    this.now = options.now ?? (() => new Date());
  }

  /** Why nothing is being logged, if so (for example a read-only data folder). */
  get problem(): string | undefined {
    return this.failure;
  }

  /** Writes each line of `text`, stamped with the time, the process and the level. */
  write(source: LogSource, text: string, level: LogLevel = "info"): void {
    if (this.failure) return;
    const stamp = `${this.now().toISOString()} [${source}] ${level}: `;
    let out = "";
    for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
      if (line.trim() === "") continue;
      for (let at = 0; at < line.length; at += MAX_LINE) out += `${stamp}${line.slice(at, at + MAX_LINE)}\n`;
    }
    if (out) this.append(out);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The rotated files' names, newest first (for tests and the packaging check). */
  rotatedPath(index: number): string {
    return join(this.folder, `${this.baseName}.${index}.log`);
  }

  private append(text: string): void {
    try {
      const bytes = Buffer.from(text, "utf8");
      if (this.fd === undefined) this.open();
      if (this.size > 0 && this.size + bytes.length > this.maxBytes) {
        this.rotate();
        this.open();
      }
      writeSync(this.fd!, bytes);
      this.size += bytes.length;
    } catch (error) {
      this.failure = `Duet cannot write its log file ${this.path}: ${(error as Error).message}`;
      try {
        this.close();
      } catch {
        // Already unusable.
      }
    }
  }

  private open(): void {
    mkdirSync(this.folder, { recursive: true });
    this.fd = openSync(this.path, "a");
    this.size = statSync(this.path).size;
  }

  private rotate(): void {
    this.close();
    rmSync(this.rotatedPath(this.keep), { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(this.rotatedPath(i), this.rotatedPath(i + 1));
      } catch {
        // That generation does not exist yet.
      }
    }
    if (this.keep >= 1) renameSync(this.path, this.rotatedPath(1));
    else rmSync(this.path, { force: true });
  }
}

/** Cuts a stream of text (a child process's output) into lines; the last partial line waits. */
export class LineSplitter {
  private pending = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string | Buffer): void {
    const text = this.pending + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.pending = lines.pop() ?? "";
    // A line without an end is flushed once it is long (a runaway progress bar, say).
    if (this.pending.length > MAX_LINE) {
      lines.push(this.pending);
      this.pending = "";
    }
    for (const line of lines) this.onLine(line);
  }

  flush(): void {
    if (this.pending) this.onLine(this.pending);
    this.pending = "";
  }
}
