import { DuetError } from "../errors.js";
import { metadataNumber, metadataString, readGgufFile, type GgufFile } from "../gguf/reader.js";

/** What Duet needs to know about a GGUF language model before loading it. */
export interface LlmFileInfo {
  path: string;
  fileSize: number;
  architecture: string;
  name: string | undefined;
  contextLength: number | undefined;
  chatTemplate: string | undefined;
  layers: number | undefined;
  embedding: number | undefined;
  heads: number | undefined;
  kvHeads: number | undefined;
  headDim: number | undefined;
  vocabularySize: number | undefined;
  /** `general.file_type` (llama_ftype), when present. */
  fileType: number | undefined;
}

/**
 * Architectures whose keys use plain or NEOX rotary positions, so that llama.cpp can move cells
 * with `seq_add`. Others are refused rather than risk a silently wrong layout.
 */
export const SHIFTABLE_ARCHITECTURES: ReadonlySet<string> = new Set([
  "llama",
  "qwen2",
  "qwen3",
  "qwen3moe",
  "phi3",
  "granite",
  "olmo2",
  "exaone",
]);

const MROPE_ARCHITECTURES = new Set(["qwen2vl", "qwen25vl", "qwen3vl", "qwen3vlmoe", "glm4v", "glm4v_moe"]);
const NO_ROPE_ARCHITECTURES = new Set([
  "bert",
  "nomic-bert",
  "nomic-bert-moe",
  "jina-bert-v2",
  "jina-bert-v3",
  "t5",
  "t5encoder",
  "gpt2",
  "bloom",
  "mpt",
  "mamba",
  "mamba2",
  "rwkv6",
  "rwkv6qwen2",
  "rwkv7",
  "arwkv7",
]);
const HYBRID_ARCHITECTURES = new Set([
  "qwen3next",
  "qwen35",
  "lfm2",
  "jamba",
  "falcon-h1",
  "granitehybrid",
  "nemotron_h",
]);

export async function inspectLlmFile(path: string): Promise<LlmFileInfo> {
  const file: GgufFile = await readGgufFile(path);
  const architecture = metadataString(file, "general.architecture");
  if (!architecture) {
    throw new DuetError(
      "gguf-corrupt",
      `${path} has no general.architecture: it is not a usable language model.`,
    );
  }
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  const vocabularySize = Array.isArray(tokens)
    ? tokens.length
    : tokens && typeof tokens === "object"
      ? tokens.arrayLength
      : undefined;
  const heads = metadataNumber(file, `${architecture}.attention.head_count`);
  const embedding = metadataNumber(file, `${architecture}.embedding_length`);
  return {
    path,
    fileSize: file.fileSize,
    architecture,
    name: metadataString(file, "general.name"),
    contextLength: metadataNumber(file, `${architecture}.context_length`),
    chatTemplate: metadataString(file, "tokenizer.chat_template"),
    layers: metadataNumber(file, `${architecture}.block_count`),
    embedding,
    heads,
    kvHeads: metadataNumber(file, `${architecture}.attention.head_count_kv`) ?? heads,
    headDim:
      metadataNumber(file, `${architecture}.attention.key_length`) ??
      (embedding !== undefined && heads ? embedding / heads : undefined),
    vocabularySize,
    fileType: metadataNumber(file, "general.file_type"),
  };
}

/** Throws a DuetError naming the architecture when Duet's block moves cannot work on it. */
export function assertShiftableArchitecture(info: Pick<LlmFileInfo, "architecture" | "path">): void {
  const arch = info.architecture;
  if (SHIFTABLE_ARCHITECTURES.has(arch)) return;
  if (MROPE_ARCHITECTURES.has(arch)) {
    throw new DuetError(
      "unsupported-rope",
      `${info.path} is a "${arch}" model, which uses multi-axis rotary positions (M-RoPE). llama.cpp cannot move ` +
        "its cached keys to new positions, which asynchronous reasoning needs. Choose a text model such as Qwen3.",
    );
  }
  if (NO_ROPE_ARCHITECTURES.has(arch)) {
    throw new DuetError(
      "unsupported-rope",
      `${info.path} is a "${arch}" model, which does not use rotary positions (or keeps a recurrent state), so its ` +
        "cached keys cannot be moved. Choose a rotary-position text model such as Qwen3.",
    );
  }
  if (HYBRID_ARCHITECTURES.has(arch)) {
    throw new DuetError(
      "unsupported-architecture",
      `${info.path} is a "${arch}" model, a hybrid with recurrent layers whose state cannot be rearranged by moving ` +
        "cache cells. Choose a plain transformer such as Qwen3.",
    );
  }
  throw new DuetError(
    "unsupported-architecture",
    `${info.path} has architecture "${arch}", which Duet has not verified for moving cached keys. Supported: ` +
      `${[...SHIFTABLE_ARCHITECTURES].join(", ")}.`,
  );
}
