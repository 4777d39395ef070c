import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A folder kept between test runs (test/globalSetup.ts): for outputs that take time to make and
 * are always the same for the same inputs, so their names carry a key of those inputs.
 */
export function testCacheDir(name: string): string {
  const folder = join(process.env.DUET_TEST_CACHE_DIR ?? join(tmpdir(), "duet-test-cache"), name);
  mkdirSync(folder, { recursive: true });
  return folder;
}
