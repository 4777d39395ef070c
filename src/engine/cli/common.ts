import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { DuetError, isDuetError } from "../errors.js";
import { GPU_CHOICES, type GpuChoice } from "../llama/types.js";
import { modelsDir } from "../paths.js";
import { REASONING_MODES, type ReasoningMode } from "../reasoning/events.js";
import { LAYOUT_NAMES, type LayoutName } from "../reasoning/layout.js";

/** Prints an error for a person (DuetErrors are already written for one) and exits non-zero. */
export function failAndExit(error: unknown, json = false): never {
  const message = error instanceof Error ? error.message : String(error);
  const code = isDuetError(error) ? error.code : "internal";
  if (json) process.stdout.write(`${JSON.stringify({ type: "error", code, message })}\n`);
  process.stderr.write(`duet: ${message}\n`);
  if (!isDuetError(error) && error instanceof Error && process.env.DUET_DEBUG)
    process.stderr.write(`${error.stack}\n`);
  process.exit(isDuetError(error, "invalid-argument") ? 2 : 1);
}

export function parseIntegerOption(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new DuetError(
      "invalid-argument",
      `--${name} must be an integer of at least ${min}, got "${value}".`,
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
    throw new DuetError(
      "invalid-argument",
      `--${name} must be a number from ${min} to ${max}, got "${value}".`,
    );
  return n;
}

export function parseChoice<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new DuetError(
      "invalid-argument",
      `--${name} must be one of ${choices.join(", ")}, got "${value}".`,
    );
  }
  return value as T;
}

export const parseGpu = (value: string | undefined): GpuChoice | undefined =>
  parseChoice("gpu", value, GPU_CHOICES);

/** parseArgs options every command that runs a turn accepts (ask, talk). */
export const TURN_OPTIONS = {
  model: { type: "string" },
  mode: { type: "string" },
  layout: { type: "string" },
  "max-steps": { type: "string" },
  gpu: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export interface TurnOptions {
  mode: ReasoningMode | undefined;
  layout: LayoutName | undefined;
  maxSteps: number | undefined;
  gpu: GpuChoice | undefined;
}

/** Checks the TURN_OPTIONS values; undefined where not given, so each command applies its defaults. */
export function parseTurnOptions(values: {
  mode?: string;
  layout?: string;
  "max-steps"?: string;
  gpu?: string;
}): TurnOptions {
  return {
    mode: parseChoice("mode", values.mode, REASONING_MODES),
    layout: parseChoice("layout", values.layout, LAYOUT_NAMES),
    maxSteps: parseIntegerOption("max-steps", values["max-steps"]),
    gpu: parseGpu(values.gpu),
  };
}

/** The model to use when none is given: the most recently added GGUF in Duet's model folder. */
export async function defaultModelPath(): Promise<string> {
  const folder = modelsDir();
  let names: string[];
  try {
    names = (await readdir(folder)).filter((n) => n.toLowerCase().endsWith(".gguf"));
  } catch {
    names = [];
  }
  const howToGet =
    `Put a Qwen3 GGUF model there (for example Qwen3-1.7B-Q4_K_M.gguf), download one with "npm run models -- download qwen3-1.7b", ` +
    `pass --model PATH, or make a tiny test model with "npm run make-tiny-model -- --out model.gguf --program demo".`;
  if (names.length === 0) throw new DuetError("model-not-found", `No model in ${folder}. ${howToGet}`);
  const withTimes = await Promise.all(
    names.map(async (n) => ({ path: join(folder, n), mtime: (await stat(join(folder, n))).mtimeMs })),
  );
  withTimes.sort((a, b) => b.mtime - a.mtime);
  return withTimes[0]!.path;
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
