/**
 * Loaded into a command's Node processes with NODE_OPTIONS=--import (see peakMemory.ts): at exit,
 * each process appends its peak resident memory in kilobytes to DUET_TEST_PEAK_RSS_FILE.
 */
import { appendFileSync } from "node:fs";
import process from "node:process";

const file = process.env.DUET_TEST_PEAK_RSS_FILE;
if (file) process.on("exit", () => appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
