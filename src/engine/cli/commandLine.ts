import { parseArgs, type ParseArgsConfig } from "node:util";
import { DuetError } from "../errors.js";

/** A mistake in how a command was called: printed as one line and the usage, exit code 2. */
export class UsageError extends DuetError {
  constructor(message: string) {
    super("invalid-argument", message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The closest option name, for "did you mean"; undefined when nothing is close. */
function closest(name: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length]!;
  };
  const scored = known.map((k) => ({ k, d: distance(name, k) })).sort((a, b) => a.d - b.d)[0];
  return scored && scored.d <= Math.max(2, Math.floor(name.length / 3)) ? scored.k : undefined;
}

/**
 * parseArgs with mistakes in words: an unknown option (with the nearest known one), a missing
 * value, and a question that starts with "-" (which looks like an option) each become a
 * UsageError naming the fix, never a stack trace.
 */
export function parseCommandLine<const O extends Options>(
  args: readonly string[],
  options: O,
  command: string,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    const token = /'([^']*)'/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      // "-5 plus 3?" or "-x" with spaces: a question, not an option.
      if (
        /^-[^-]/.test(token) &&
        (/\s/.test(args.find((a) => a.startsWith(token)) ?? "") || /^-\d/.test(token))
      ) {
        throw new UsageError(
          `A question that starts with "-" looks like an option: put -- before it, as in ` +
            `npm run ${command} -- [options] -- "${args.find((a) => a.startsWith(token)) ?? token}"`,
        );
      }
      const name = token.replace(/^-+/, "");
      const suggestion = closest(name, Object.keys(options));
      throw new UsageError(`Unknown option ${token}.${suggestion ? ` Did you mean --${suggestion}?` : ""}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new UsageError(
        message.replace(/^Option '([^']+)'/, "Option $1").replace(/ argument missing$/, " needs a value"),
      );
    }
    throw new UsageError(message);
  }
}
