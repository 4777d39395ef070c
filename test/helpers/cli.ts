import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of Duet's command-line scripts (src/engine/cli/NAME.ts) with tsx; a non-zero exit is a
 * result, not an error. The data folder is a fresh one unless `env` names one, so the developer's
 * own settings never leak into a test.
 */
export async function runCli(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const tsx = join(process.cwd(), "node_modules", ".bin", "tsx");
  try {
    const { stdout, stderr } = await promisify(execFile)(tsx, [join("src/engine/cli", script), ...args], {
      env: { ...process.env, DUET_DATA_DIR: mkdtempSync(join(tmpdir(), "duet-cli-data-")), ...options.env },
      timeout: options.timeoutMs ?? 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
