import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { scratchPath } from "./models.js";

/**
 * Environment for runCli that records the peak memory of the command's processes, and a reader
 * of the largest, in bytes (0 when none was recorded).
 */
export function peakMemoryProbe(): { env: NodeJS.ProcessEnv; peakBytes: () => number } {
  const file = scratchPath("peak-rss.txt");
  const hook = pathToFileURL(resolve("test/helpers/peakMemory.mjs")).href;
  return {
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${hook}`.trim(),
      DUET_TEST_PEAK_RSS_FILE: file,
    },
    peakBytes: () =>
      existsSync(file) ? Math.max(0, ...readFileSync(file, "utf8").trim().split("\n").map(Number)) * 1024 : 0,
  };
}
