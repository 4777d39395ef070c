import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testCacheDir } from "./testDirs.js";
import { writeTinyModel, type TinyModelOptions } from "../../src/engine/tiny-model/tinyModel.js";

/** A generated model for tests, written once per option set (seeded, so always the same bytes). */
export async function tinyModelPath(options: TinyModelOptions = {}): Promise<string> {
  const folder = testCacheDir("models");
  const key = createHash("sha256").update(JSON.stringify(options)).digest("hex").slice(0, 16);
  const path = join(folder, `tiny-${key}.gguf`);
  if (!existsSync(path)) await writeTinyModel(path, options);
  return path;
}

/** A path for one test's file, in the run's temporary folder (removed when the run ends). */
export function scratchPath(name: string): string {
  const folder = join(tmpdir(), "duet-scratch");
  mkdirSync(folder, { recursive: true });
  return join(folder, `${process.pid}-${Date.now()}-${name}`);
}
