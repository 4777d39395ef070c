import { appendAll } from "../../shared/arrays.js";
import { writeGgufFile, gguf, type GgufTensorSpec, type GgufValue } from "../gguf/writer.js";
import { GgmlType } from "../gguf/types.js";
import { TINY_CHATML_THINKING_TEMPLATE } from "./chatTemplate.js";
import { copyModelShape, copyModelTensors, type TinyCopyRule } from "./copyProgram.js";
import { mulberry32, seedFor } from "./random.js";
import { buildVocabulary, type Vocabulary } from "./vocabulary.js";

export type TinyArchitecture = "qwen3" | "llama";
export type TinyWeightType = "f32" | "f16" | "q8_0";

/**
 * A programmable model's next-token table. Each rule says which token follows a token, by its
 * text; a list of `[text, logit]` gives a distribution instead of a certainty. Texts must each be
 * one token (special tokens like `</think>` included); words get single tokens automatically.
 */
export interface TinyProgram {
  rules: ReadonlyArray<
    readonly [from: string, to: string | ReadonlyArray<readonly [text: string, logit: number]>]
  >;
  /** What follows every token no rule names. Default `<|im_end|>`. */
  otherwise?: string;
  /** Logit of a certain next token. Default 30 (probability about 1 - 1e-10 per rival). */
  certainty?: number;
  /**
   * Attention by construction (qwen3 only; two layers): after `copy.query` the model says a token
   * found earlier in its context (copyProgram.ts, docs/programmed-models.md). Default: none, a
   * one-layer table whose attention is silent.
   */
  copy?: TinyCopyRule;
}

export type { TinyCopyRule } from "./copyProgram.js";

export interface TinyModelOptions {
  /** Default "qwen3" (NEOX RoPE plus q/k norms); "llama" uses normal RoPE. */
  arch?: TinyArchitecture;
  /** Default 1. */
  layers?: number;
  /** Attention heads. Default 4. */
  heads?: number;
  /** Key/value heads (fewer than `heads` gives grouped-query attention). Default `heads`. */
  kvHeads?: number;
  /** Embedding width. Default 64 (a programmable model widens it to the vocabulary size). */
  embedding?: number;
  /** Head dimension. Default 32 for qwen3, embedding / heads for llama. */
  headDim?: number;
  /** Feed-forward width. Default 2 x embedding. */
  feedForward?: number;
  /** Trained context length written to the header. Default 4096. */
  contextLength?: number;
  /** Pad the vocabulary to this many tokens. Default: just what the words need. */
  vocabularySize?: number;
  /** Extra text pieces that must be single tokens. */
  words?: readonly string[];
  /** Seed for the random weights. Default 1. */
  seed?: number;
  /** Weight type. Default "f32". */
  type?: TinyWeightType;
  /** Makes the model a next-token table instead of random (forces one layer). */
  program?: TinyProgram;
  /** Default 1e6 as in Qwen3. */
  ropeFreqBase?: number;
  /** Default: the project's ChatML template with thinking. */
  chatTemplate?: string;
  /** Override `general.architecture` in the header (for testing refusals). The tensors stay `arch`'s. */
  architectureName?: string;
  /** `general.name`. Default "duet-tiny-<arch>". */
  name?: string;
}

/** Words every generated model gets as single tokens, so prompts and probes tokenize compactly. */
export const BASE_WORDS: readonly string[] = [
  "\n\n",
  ".\n\n",
  " yes",
  " no",
  "yes",
  "no",
  "Yes",
  "No",
  " Yes",
  " No",
  "user",
  "assistant",
  "system",
  " the",
  " answer",
  " is",
  " SYSTEM",
  "SYSTEM",
];

export interface TinyModelInfo {
  path: string;
  vocabulary: Vocabulary;
  embedding: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

function programWords(program: TinyProgram | undefined): string[] {
  if (!program) return [];
  const words: string[] = [];
  for (const [from, to] of program.rules) {
    words.push(from);
    if (typeof to === "string") words.push(to);
    else for (const [text] of to) words.push(text);
  }
  if (program.otherwise) words.push(program.otherwise);
  if (program.copy) {
    words.push(program.copy.query);
    appendAll(words, program.copy.values);
    if (program.copy.marker !== undefined) words.push(program.copy.marker);
  }
  return words.filter((w) => !/^<\|.*\|>$|^<\/?think>$/.test(w));
}

/** Rows of the output matrix for a programmable model: logits[to][from] in one-hot space. */
function programLogits(program: TinyProgram, vocabulary: Vocabulary): Map<number, Map<number, number>> {
  const certainty = program.certainty ?? 30;
  const otherwise = vocabulary.idOfText(program.otherwise ?? "<|im_end|>");
  const table = new Map<number, Map<number, number>>(); // from -> (to -> logit)
  for (const [from, to] of program.rules) {
    const fromId = vocabulary.idOfText(from);
    if (table.has(fromId)) throw new Error(`Program has two rules for ${JSON.stringify(from)}`);
    const row = new Map<number, number>();
    if (typeof to === "string") row.set(vocabulary.idOfText(to), certainty);
    else for (const [text, logit] of to) row.set(vocabulary.idOfText(text), logit);
    table.set(fromId, row);
  }
  for (let id = 0; id < vocabulary.tokens.length; id++) {
    if (!table.has(id)) table.set(id, new Map([[otherwise, certainty]]));
  }
  return table;
}

function* randomRows(
  name: string,
  seed: number,
  rows: number,
  cols: number,
  scale: number,
): Iterable<Float32Array> {
  const random = mulberry32(seedFor(seed, name));
  // Uniform on [-a, a] has standard deviation a / sqrt(3).
  const a = scale * Math.sqrt(3);
  for (let r = 0; r < rows; r++) {
    const row = new Float32Array(cols);
    for (let c = 0; c < cols; c++) row[c] = (random() * 2 - 1) * a;
    yield row;
  }
}

function* constantRows(rows: number, cols: number, value: number): Iterable<Float32Array> {
  for (let r = 0; r < rows; r++) yield new Float32Array(cols).fill(value);
}

/**
 * Writes a tiny GGUF that llama.cpp loads: llama or qwen3 architecture, a Qwen-style byte-level
 * BPE vocabulary with ChatML control tokens and think tokens, and either seeded random weights or
 * a programmed next-token table (one layer, one-hot embeddings, attention and MLP silenced), or
 * a table plus a copy rule (two layers whose attention is set by construction: copyProgram.ts).
 */
export async function writeTinyModel(path: string, options: TinyModelOptions = {}): Promise<TinyModelInfo> {
  const arch = options.arch ?? "qwen3";
  const program = options.program;
  const vocabulary = buildVocabulary({
    words: [...BASE_WORDS, ...(options.words ?? []), ...programWords(program)],
    ...(options.vocabularySize !== undefined ? { size: options.vocabularySize } : {}),
  });
  const vocabSize = vocabulary.tokens.length;
  const copy = program?.copy;
  if (copy && arch !== "qwen3") throw new Error("A copy rule needs the qwen3 architecture (its q/k norms)");
  if (copy && options.type === "q8_0") throw new Error("A copy rule needs f32 or f16 weights");
  const copyShape = copy ? copyModelShape(vocabSize, copy, options.headDim) : undefined;
  // A copy model: two layers of one head each; a plain program: one layer whose attention is silent.
  const layers = copy ? 2 : program ? 1 : (options.layers ?? 1);
  const embedding = copyShape?.embedding ?? (program ? roundUp(vocabSize, 64) : (options.embedding ?? 64));
  const heads = copy ? 1 : program && arch === "llama" ? embedding / 64 : (options.heads ?? 4);
  const kvHeads = copy ? 1 : (options.kvHeads ?? heads);
  const headDim = copyShape?.headDim ?? options.headDim ?? (arch === "llama" ? embedding / heads : 32);
  const feedForward = copyShape?.feedForward ?? options.feedForward ?? embedding * 2;
  const contextLength = options.contextLength ?? 4096;
  const ropeFreqBase = options.ropeFreqBase ?? 1_000_000;
  const seed = options.seed ?? 1;
  const weightType = { f32: GgmlType.F32, f16: GgmlType.F16, q8_0: GgmlType.Q8_0 }[options.type ?? "f32"];
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    throw new Error(`Head dimension ${headDim} must be an even integer`);
  if (arch === "llama" && headDim * heads !== embedding) {
    throw new Error(`llama needs heads x head dimension = embedding (${heads} x ${headDim} != ${embedding})`);
  }
  if (heads % kvHeads !== 0) throw new Error(`heads (${heads}) must be a multiple of kv heads (${kvHeads})`);
  if (weightType === GgmlType.Q8_0 && [embedding, feedForward, heads * headDim].some((d) => d % 32 !== 0)) {
    throw new Error("Q8_0 needs every row length to be a multiple of 32");
  }

  if (program && vocabSize > 8192) {
    throw new Error(
      `A programmable model has one-hot embeddings as wide as its vocabulary; ${vocabSize} tokens would need ${((vocabSize * vocabSize * 8) / 1e9).toFixed(0)} GB.`,
    );
  }
  const table = program ? programLogits(program, vocabulary) : undefined;
  const oneHotScale = 1 / Math.sqrt(embedding); // RMS norm turns a one-hot row into sqrt(E) * e_i

  // A table or random weights; a copy model is built by copyProgram.ts instead.
  function tableOrRandomTensors(): GgufTensorSpec[] {
    const tensors: GgufTensorSpec[] = [];
    const matrix = (name: string, cols: number, rows: number, type = weightType): void => {
      // ggml dims [cols, rows]: rows of `cols` contiguous values.
      const scale = 1 / Math.sqrt(cols);
      tensors.push({
        name,
        dims: [cols, rows],
        type,
        data: () => (program ? constantRows(rows, cols, 0) : randomRows(name, seed, rows, cols, scale)),
      });
    };
    const norm = (name: string, size: number): void => {
      tensors.push({ name, dims: [size], type: GgmlType.F32, data: () => constantRows(1, size, 1) });
    };

    tensors.push({
      name: "token_embd.weight",
      dims: [embedding, vocabSize],
      type: weightType,
      data: function* () {
        if (!program) {
          yield* randomRows("token_embd.weight", seed, vocabSize, embedding, 1);
          return;
        }
        for (let id = 0; id < vocabSize; id++) {
          const row = new Float32Array(embedding);
          row[id] = 1;
          yield row;
        }
      },
    });
    for (let l = 0; l < layers; l++) {
      const p = `blk.${l}`;
      norm(`${p}.attn_norm.weight`, embedding);
      matrix(`${p}.attn_q.weight`, embedding, heads * headDim);
      matrix(`${p}.attn_k.weight`, embedding, kvHeads * headDim);
      matrix(`${p}.attn_v.weight`, embedding, kvHeads * headDim);
      matrix(`${p}.attn_output.weight`, heads * headDim, embedding);
      if (arch === "qwen3") {
        norm(`${p}.attn_q_norm.weight`, headDim);
        norm(`${p}.attn_k_norm.weight`, headDim);
      }
      norm(`${p}.ffn_norm.weight`, embedding);
      matrix(`${p}.ffn_gate.weight`, embedding, feedForward);
      matrix(`${p}.ffn_up.weight`, embedding, feedForward);
      matrix(`${p}.ffn_down.weight`, feedForward, embedding);
    }
    norm("output_norm.weight", embedding);
    tensors.push({
      name: "output.weight",
      dims: [embedding, vocabSize],
      type: weightType,
      data: function* () {
        if (!table) {
          yield* randomRows("output.weight", seed, vocabSize, embedding, 4 / Math.sqrt(embedding));
          return;
        }
        // Row `to` holds, at column `from`, the logit of `to` following `from`.
        const rows = Array.from({ length: vocabSize }, () => new Float32Array(embedding));
        for (const [from, row] of table) for (const [to, logit] of row) rows[to]![from] = logit * oneHotScale;
        yield* rows;
      },
    });
    return tensors;
  }

  const tensors: GgufTensorSpec[] = copy
    ? copyModelTensors({
        vocabulary,
        rule: copy,
        shape: copyShape!,
        table: table!,
        certainty: program.certainty ?? 30,
        ropeBase: ropeFreqBase,
        contextLength,
        type: weightType,
      })
    : tableOrRandomTensors();

  const archName = options.architectureName ?? arch;
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", gguf.string(archName)],
    ["general.name", gguf.string(options.name ?? `duet-tiny-${arch}`)],
    ["general.file_type", gguf.u32({ f32: 0, f16: 1, q8_0: 7 }[options.type ?? "f32"])],
    [`${archName}.context_length`, gguf.u32(contextLength)],
    [`${archName}.embedding_length`, gguf.u32(embedding)],
    [`${archName}.block_count`, gguf.u32(layers)],
    [`${archName}.feed_forward_length`, gguf.u32(feedForward)],
    [`${archName}.attention.head_count`, gguf.u32(heads)],
    [`${archName}.attention.head_count_kv`, gguf.u32(kvHeads)],
    [`${archName}.attention.key_length`, gguf.u32(headDim)],
    [`${archName}.attention.value_length`, gguf.u32(headDim)],
    [`${archName}.rope.dimension_count`, gguf.u32(headDim)],
    [`${archName}.rope.freq_base`, gguf.f32(ropeFreqBase)],
    [`${archName}.attention.layer_norm_rms_epsilon`, gguf.f32(1e-6)],
    ["tokenizer.ggml.model", gguf.string("gpt2")],
    ["tokenizer.ggml.pre", gguf.string("qwen2")],
    ["tokenizer.ggml.tokens", gguf.strings(vocabulary.tokens)],
    ["tokenizer.ggml.token_type", gguf.i32s(vocabulary.types)],
    ["tokenizer.ggml.merges", gguf.strings(vocabulary.merges)],
    ["tokenizer.ggml.bos_token_id", gguf.u32(vocabulary.idOf("<|endoftext|>"))],
    ["tokenizer.ggml.eos_token_id", gguf.u32(vocabulary.idOf("<|im_end|>"))],
    ["tokenizer.ggml.padding_token_id", gguf.u32(vocabulary.idOf("<|endoftext|>"))],
    ["tokenizer.ggml.add_bos_token", gguf.bool(false)],
    ["tokenizer.chat_template", gguf.string(options.chatTemplate ?? TINY_CHATML_THINKING_TEMPLATE)],
  ];
  await writeGgufFile(path, { metadata, tensors });
  return { path, vocabulary, embedding, layers, heads, kvHeads, headDim };
}

/** Real-model shapes with random weights, for benchmarks. */
export const TINY_MODEL_PRESETS = {
  "qwen3-0.6b-shape": {
    arch: "qwen3",
    layers: 28,
    heads: 16,
    kvHeads: 8,
    embedding: 1024,
    headDim: 128,
    feedForward: 3072,
    vocabularySize: 151936,
    contextLength: 40960,
    type: "q8_0",
  },
} as const satisfies Record<string, TinyModelOptions>;
