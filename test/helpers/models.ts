import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTinyModel, type TinyModelOptions } from "../../src/engine/tiny-model/tinyModel.js";

const folder = join(tmpdir(), "duet-test-models");

/** A generated model for tests, written once per option set (seeded, so always the same bytes). */
export async function tinyModelPath(options: TinyModelOptions = {}): Promise<string> {
  mkdirSync(folder, { recursive: true });
  const key = createHash("sha256").update(JSON.stringify(options)).digest("hex").slice(0, 16);
  const path = join(folder, `tiny-${key}.gguf`);
  if (!existsSync(path)) await writeTinyModel(path, options);
  return path;
}

export function scratchPath(name: string): string {
  mkdirSync(folder, { recursive: true });
  return join(folder, `${process.pid}-${Date.now()}-${name}`);
}
