import { byteChar, byteLevelChars, byteOrder } from "./byteLevel.js";

/** llama.cpp token types (`enum llama_token_type`). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export const QWEN_CONTROL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;
/** Qwen3 GGUFs mark these USER_DEFINED, not CONTROL: they tokenize even without special-token parsing. */
export const QWEN_THINK_TOKENS = ["<think>", "</think>"] as const;

export interface Vocabulary {
  /** Token strings in byte-level form, indexed by id. */
  tokens: string[];
  types: number[];
  /** BPE merges, "left right" in byte-level form, in priority order. */
  merges: string[];
  idOf(tokenString: string): number;
  /** Id of the single token a piece of plain text becomes (throws if it is not one token). */
  idOfText(text: string): number;
}

export interface VocabularyOptions {
  /**
   * Text pieces that must each become a single token (e.g. " think", ".\n\n"). Pieces must be
   * what the qwen2 pre-tokenizer produces: a word with its leading space, punctuation with its
   * trailing newlines, or a newline run.
   */
  words?: readonly string[];
  /** Pad the vocabulary with unused tokens up to this size (real Qwen3 has 151936). */
  size?: number;
}

/** Applies BPE with the merges so far; used to grow merges that keep every earlier word stable. */
function bpe(chars: string[], ranks: Map<string, number>): string[] {
  const parts = [...chars];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return parts;
    parts.splice(best, 2, parts[best]! + parts[best + 1]!);
  }
}

/**
 * A Qwen-style byte-level BPE vocabulary: 256 byte tokens, merges that make each requested word
 * one token, the ChatML control tokens and the think tokens, then unused padding.
 */
export function buildVocabulary(options: VocabularyOptions = {}): Vocabulary {
  const tokens: string[] = byteOrder.map((b) => byteChar(b));
  const types: number[] = tokens.map(() => TokenType.NORMAL);
  const index = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const merges: string[] = [];
  const ranks = new Map<string, number>();

  for (const word of options.words ?? []) {
    const parts = bpe(byteLevelChars(word), ranks);
    let current: string | undefined = parts[0];
    if (current === undefined) continue;
    for (const next of parts.slice(1)) {
      const merge = `${current} ${next}`;
      const merged: string = current + next;
      if (!ranks.has(merge)) {
        ranks.set(merge, merges.length);
        merges.push(merge);
      }
      if (!index.has(merged)) {
        index.set(merged, tokens.length);
        tokens.push(merged);
        types.push(TokenType.NORMAL);
      }
      current = merged;
    }
  }
  for (const special of QWEN_CONTROL_TOKENS) {
    index.set(special, tokens.length);
    tokens.push(special);
    types.push(TokenType.CONTROL);
  }
  for (const special of QWEN_THINK_TOKENS) {
    index.set(special, tokens.length);
    tokens.push(special);
    types.push(TokenType.USER_DEFINED);
  }
  const size = options.size ?? tokens.length;
  if (size < tokens.length)
    throw new Error(`Vocabulary size ${size} is smaller than the ${tokens.length} tokens needed`);
  while (tokens.length < size) {
    const pad = `[PAD${tokens.length}]`;
    index.set(pad, tokens.length);
    tokens.push(pad);
    types.push(TokenType.UNUSED);
  }
  const idOf = (tokenString: string): number => {
    const id = index.get(tokenString);
    if (id === undefined) throw new Error(`Token ${JSON.stringify(tokenString)} is not in the vocabulary`);
    return id;
  };
  return {
    tokens,
    types,
    merges,
    idOf,
    idOfText: (text) => {
      if (index.has(text) && types[index.get(text)!] !== TokenType.NORMAL) return index.get(text)!;
      const parts = bpe(byteLevelChars(text), ranks);
      if (parts.length !== 1) throw new Error(`${JSON.stringify(text)} is ${parts.length} tokens, not one`);
      return idOf(parts[0]!);
    },
  };
}
