#!/usr/bin/env node
/**
 * npm run demo [-- ask options]: makes the scripted demo model (once, no download) and asks it a
 * question, so a fresh install shows both tracks live right away.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { duetDataDir } from "../paths.js";
import { DEMO_PROGRAM } from "../tiny-model/demoProgram.js";
import { writeTinyModel } from "../tiny-model/tinyModel.js";
import { runAsk } from "./askCommand.js";
import { failAndExit } from "./common.js";

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
  const args = process.argv.slice(2);
  const hasQuestion = args.some((a) => !a.startsWith("-")) || args.includes("--help") || args.includes("-h");
  await runAsk(hasQuestion ? args : [...args, "What is two plus two?"], { fixedModel: model });
}

main().catch((error: unknown) => failAndExit(error));
