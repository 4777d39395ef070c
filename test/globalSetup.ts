import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every test run gets its own temporary folder, removed when the run ends: tests and the commands
 * they start create folders with `os.tmpdir()` (which reads TMPDIR) and never pile them up in the
 * system's one. What is worth keeping between runs (generated models, the built window) goes to
 * DUET_TEST_CACHE_DIR instead (test/helpers/testDirs.ts).
 */
export default function setup(): () => void {
  const systemTmp = tmpdir();
  process.env.DUET_TEST_CACHE_DIR ??= join(systemTmp, "duet-test-cache");
  mkdirSync(process.env.DUET_TEST_CACHE_DIR, { recursive: true });
  const runDir = mkdtempSync(join(systemTmp, "duet-test-run-"));
  process.env.TMPDIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
