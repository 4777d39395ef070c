import { existsSync } from "node:fs";
import { join } from "node:path";
import { testCacheDir } from "./testDirs.js";
import { writeTinyWhisperModel } from "../../src/engine/tiny-model/whisperModel.js";

/** A generated tensor-less whisper.cpp model (loads and computes, transcribes nothing). */
export async function tinyWhisperPath(): Promise<string> {
  const folder = testCacheDir("models");
  const path = join(folder, "whisper-tiny-empty.bin");
  if (!existsSync(path)) await writeTinyWhisperModel(path);
  return path;
}
