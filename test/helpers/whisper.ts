import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTinyWhisperModel } from "../../src/engine/tiny-model/whisperModel.js";

/** A generated tensor-less whisper.cpp model (loads and computes, transcribes nothing). */
export async function tinyWhisperPath(): Promise<string> {
  const folder = join(tmpdir(), "duet-test-models");
  mkdirSync(folder, { recursive: true });
  const path = join(folder, "whisper-tiny-empty.bin");
  if (!existsSync(path)) await writeTinyWhisperModel(path);
  return path;
}
