import { open, readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { DuetError } from "../errors.js";
import { detectPromptFamily } from "../reasoning/promptFamily.js";
import type { ModelKind } from "./catalog.js";
import { assertShiftableArchitecture, inspectLlmFile } from "./inspect.js";

export interface ValidatedModel {
  kind: ModelKind;
  path: string;
  name: string;
  sizeBytes: number;
  details: Record<string, string | number>;
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A GGUF reasoning model Duet can run: complete file, shiftable architecture, known prompt family. */
export async function validateLlmFile(path: string): Promise<ValidatedModel> {
  const info = await inspectLlmFile(path);
  assertShiftableArchitecture(info);
  const family = detectPromptFamily(info.chatTemplate, path);
  return {
    kind: "llm",
    path,
    name: info.name ?? basename(path),
    sizeBytes: info.fileSize,
    details: {
      architecture: info.architecture,
      family: family.id,
      contextLength: info.contextLength ?? 0,
      layers: info.layers ?? 0,
    },
  };
}

const WHISPER_MAGIC = 0x67676d6c; // "ggml"

/** A whisper.cpp ggml model: the magic, then eleven int32 hyper-parameters that must be sane. */
export async function validateWhisperFile(path: string): Promise<ValidatedModel> {
  const size = (await stat(path)).size;
  const head = await readHead(path, 48);
  if (head.length < 48 || head.readUInt32LE(0) !== WHISPER_MAGIC) {
    throw new DuetError(
      "gguf-bad-magic",
      `${path} is not a whisper.cpp model (ggml format, usually named ggml-*.bin).`,
    );
  }
  const [
    nVocab,
    nAudioCtx,
    nAudioState,
    nAudioHead,
    nAudioLayer,
    nTextCtx,
    nTextState,
    nTextHead,
    nTextLayer,
    nMels,
  ] = Array.from({ length: 10 }, (_, i) => head.readInt32LE(4 + i * 4));
  const sane =
    nVocab! > 1000 &&
    nVocab! < 1_000_000 &&
    nAudioCtx! > 0 &&
    nAudioState! > 0 &&
    nAudioHead! > 0 &&
    nAudioLayer! > 0 &&
    nTextCtx! > 0 &&
    nTextState! > 0 &&
    nTextHead! > 0 &&
    nTextLayer! > 0 &&
    (nMels === 80 || nMels === 128);
  if (!sane)
    throw new DuetError(
      "gguf-corrupt",
      `${path} has whisper's magic but implausible hyper-parameters: it is damaged.`,
    );
  return {
    kind: "stt",
    path,
    name: basename(path),
    sizeBytes: size,
    details: { vocabulary: nVocab!, audioLayers: nAudioLayer!, textLayers: nTextLayer!, mels: nMels! },
  };
}

/** An ONNX file (VAD or a voice): protobuf that starts with the ir_version field. */
export async function validateOnnxFile(path: string, kind: "vad" | "tts"): Promise<ValidatedModel> {
  const size = (await stat(path)).size;
  const head = await readHead(path, 2);
  if (size < 1024 || head[0] !== 0x08) throw new DuetError("gguf-bad-magic", `${path} is not an ONNX model.`);
  return { kind, path, name: basename(path), sizeBytes: size, details: {} };
}

/** The .onnx model in a voice folder's file names; throws unless tokens.txt is there too. */
export function voiceModelName(folder: string, names: readonly string[]): string {
  const model = names.find((n) => n.endsWith(".onnx"));
  if (!model || !names.includes("tokens.txt")) {
    throw new DuetError(
      "model-unreadable",
      `${folder} is not a voice: it needs an .onnx model and tokens.txt.`,
    );
  }
  return model;
}

/** A sherpa-onnx voice folder: an .onnx model and tokens.txt (Piper voices also carry espeak-ng-data). */
export async function validateVoiceFolder(folder: string): Promise<ValidatedModel> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    throw new DuetError("model-not-found", `Voice folder not found: ${folder}`, { cause: error });
  }
  const model = voiceModelName(folder, names);
  const validated = await validateOnnxFile(join(folder, model), "tts");
  return {
    ...validated,
    path: folder,
    name: basename(folder),
    details: { model, espeakData: names.includes("espeak-ng-data") ? "yes" : "no" },
  };
}

/** Validates a file by what it looks like; used for imports. */
export async function validateModelPath(path: string): Promise<ValidatedModel> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new DuetError("model-not-found", `Not found: ${path}`, { cause: error });
  }
  if (info.isDirectory()) return validateVoiceFolder(path);
  const head = await readHead(path, 4);
  if (head.toString("latin1") === "GGUF") return validateLlmFile(path);
  if (head.length === 4 && head.readUInt32LE(0) === WHISPER_MAGIC) return validateWhisperFile(path);
  if (path.endsWith(".onnx")) return validateOnnxFile(path, "vad");
  throw new DuetError(
    "gguf-bad-magic",
    `${path} is not a model Duet can use: expected a GGUF language model, a whisper.cpp ggml model, an ONNX model or a voice folder.`,
  );
}
