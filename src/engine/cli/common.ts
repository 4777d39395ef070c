import { isDuetError } from "../errors.js";
import { explainError } from "../fileErrors.js";
import { UsageError } from "./commandLine.js";

/** Exit codes of every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, nothingHeard: 3 } as const;

/**
 * Prints an error for a person (DuetErrors are already written for one, a file-system failure is
 * explained with its fix) and exits: 2 for a mistake in the command line (with the usage), 1
 * otherwise. A stack trace only with DUET_DEBUG.
 */
export function failAndExit(error: unknown, options: { json?: boolean; usage?: string } = {}): never {
  const message = explainError(error);
  const code = isDuetError(error) ? error.code : "internal";
  if (options.json) process.stdout.write(`${JSON.stringify({ type: "error", code, message })}\n`);
  process.stderr.write(`duet: ${message}\n`);
  if (error instanceof UsageError && options.usage) process.stderr.write(`\n${options.usage}`);
  if (!isDuetError(error) && error instanceof Error && process.env.DUET_DEBUG)
    process.stderr.write(`${error.stack}\n`);
  process.exit(isDuetError(error, "invalid-argument") ? EXIT.usage : EXIT.failed);
}

export function parseIntegerOption(
  name: string,
  value: string | undefined,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      max === Number.MAX_SAFE_INTEGER
        ? `--${name} must be a whole number of at least ${min}, got "${value}".`
        : `--${name} must be a whole number from ${min} to ${max}, got "${value}".`,
    );
  return n;
}

export function parseNumberOption(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${value}".`);
  return n;
}

export function parseChoice<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${value}".`);
  }
  return value as T;
}

/** A duration for people: "1.23 s", or "-" when there is none. */
export function formatSeconds(ms: number | null): string {
  return ms === null ? "-" : `${(ms / 1000).toFixed(2)} s`;
}

/** Progress lines: on stdout, or on stderr when stdout carries JSON. */
export function progressLog(json: boolean): (line: string) => void {
  return (line) => {
    (json ? process.stderr : process.stdout).write(`${line}\n`);
  };
}

const styled =
  (open: string, close: string) =>
  (s: string): string =>
    process.stdout.isTTY ? `\x1b[${open}m${s}\x1b[${close}m` : s;

/** Terminal styles, plain text when the output is not a terminal. */
export const ansi = { dim: styled("2", "22"), bold: styled("1", "22") };
