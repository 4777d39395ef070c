import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "duet-test-run-";

/** Whether a process with this id is running (signal 0 only asks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Every test run gets its own temporary folder, removed when the run ends: tests and the commands
 * they start create folders with `os.tmpdir()` (which reads TMPDIR) and never pile them up in the
 * system's one. What is worth keeping between runs (generated models, the built window) goes to
 * DUET_TEST_CACHE_DIR instead (test/helpers/testDirs.ts).
 *
 * The folder is removed by Vitest's teardown and, for runners that exit without it (StrykerJS),
 * when the process exits; a run that was killed leaves its folder, which the next run removes
 * (the folder's name carries the process id).
 */
export default function setup(): () => void {
  const systemTmp = tmpdir();
  process.env.DUET_TEST_CACHE_DIR ??= join(systemTmp, "duet-test-cache");
  mkdirSync(process.env.DUET_TEST_CACHE_DIR, { recursive: true });
  for (const name of readdirSync(systemTmp)) {
    const pid = Number(/^duet-test-run-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid))
      rmSync(join(systemTmp, name), { recursive: true, force: true });
  }
  const runDir = mkdtempSync(join(systemTmp, `${PREFIX}${process.pid}-`));
  process.env.TMPDIR = runDir;
  const remove = (): void => rmSync(runDir, { recursive: true, force: true });
  process.once("exit", remove);
  return remove;
}
