#!/usr/bin/env node
/**
 * npm run demo [-- --fast] [-- ask options]: makes the scripted demo model (once, no download)
 * and asks it a question, so a fresh install shows both tracks live right away. The scripted
 * model answers in a blink, so the turn is shown at a small model's pace on a laptop CPU;
 * --fast shows it as it runs.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { duetDataDir } from "../paths.js";
import { DEMO_PROGRAM } from "../tiny-model/demoProgram.js";
import { writeTinyModel } from "../tiny-model/tinyModel.js";
import { runAsk } from "./askCommand.js";
import { ASSISTANT_OPTIONS } from "./assistantForCommand.js";
import { parseCommandLine } from "./commandLine.js";
import { failAndExit } from "./common.js";

/** Whether the arguments hold a question (or ask for help); option values such as `--gpu cpu` are not questions. */
function givesQuestion(args: readonly string[]): boolean {
  try {
    const { values, positionals } = parseCommandLine(args, ASSISTANT_OPTIONS, "demo");
    return positionals.length > 0 || values.help === true;
  } catch {
    // A mistake in the options: runAsk says which.
    return true;
  }
}

/** One step (a thought token and an answer token) every 120 ms: about 8 a second. */
const DEMO_PACE_MS = 120;

async function main(): Promise<void> {
  const folder = join(duetDataDir(), "demo");
  const model = join(folder, "duet-demo.gguf");
  if (!existsSync(model)) {
    mkdirSync(folder, { recursive: true });
    await writeTinyModel(model, { program: DEMO_PROGRAM, name: "duet-demo" });
  }
  process.stderr.write(
    "This is Duet's scripted demo model: it always thinks and says the same thing, to show the two tracks.\n" +
      'For real answers, run: npm run ask -- --model PATH/TO/Qwen3.gguf "your question"\n\n',
  );
  const fast = process.argv.includes("--fast");
  const args = process.argv.slice(2).filter((a) => a !== "--fast");
  if (!fast && !args.includes("--json"))
    process.stderr.write(
      `Shown at about ${Math.round(1000 / DEMO_PACE_MS)} steps a second, the pace of a small model on a laptop CPU (--fast: as fast as it runs).\n\n`,
    );
  const hasQuestion = givesQuestion(args);
  await runAsk(hasQuestion ? args : [...args, "What is two plus two?"], {
    fixedModel: model,
    ...(fast ? {} : { paceMs: DEMO_PACE_MS }),
  });
}

main().catch((error: unknown) => failAndExit(error));
