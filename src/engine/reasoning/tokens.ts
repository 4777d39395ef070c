import { appendAll } from "../../shared/arrays.js";
import { DuetError } from "../errors.js";
import type { Token, TokenizerInfo } from "../llama/types.js";
import type { PromptFamily } from "./promptFamily.js";
import type { StreamName } from "./layout.js";

/** Tokenizes engine-authored text, where special-token texts are the real special tokens. */
export function tokenizeMarkup(tokenizer: TokenizerInfo, text: string): Token[] {
  return tokenizer.tokenize(text, { special: true });
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The ids of those texts that are special tokens of this vocabulary, in order. */
function specialTokenIds(tokenizer: TokenizerInfo, texts: readonly string[]): Token[] {
  const ids: Token[] = [];
  for (const text of texts) {
    const id = tokenizer.specialToken(text);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

interface UserTextRules {
  /** Splits text around the family's reserved texts (kept as their own pieces). */
  pattern: RegExp;
  /** Token ids of the reserved texts: user text must never contain them. */
  specials: ReadonlySet<Token>;
}

const userTextRulesCache = new WeakMap<TokenizerInfo, WeakMap<PromptFamily, UserTextRules>>();

/** The split pattern and reserved ids for user text, built once per model and family. */
function userTextRules(tokenizer: TokenizerInfo, family: PromptFamily): UserTextRules {
  let perFamily = userTextRulesCache.get(tokenizer);
  if (!perFamily) {
    perFamily = new WeakMap();
    userTextRulesCache.set(tokenizer, perFamily);
  }
  let rules = perFamily.get(family);
  if (!rules) {
    rules = {
      pattern: new RegExp(`(${family.reservedTexts.map(escapeRegExp).join("|")})`, "g"),
      specials: new Set(specialTokenIds(tokenizer, family.reservedTexts)),
    };
    perFamily.set(family, rules);
  }
  return rules;
}

/**
 * Tokenizes text a person typed or said. Special-token texts in it (`<think>`, `<|im_start|>`)
 * stay plain text: some of them (Qwen3's user-defined `<think>`) would otherwise become the
 * real token even without special parsing, so each occurrence is split after its first character.
 */
export function tokenizeUserText(tokenizer: TokenizerInfo, family: PromptFamily, text: string): Token[] {
  const reserved = family.reservedTexts;
  const { pattern, specials } = userTextRules(tokenizer, family);
  const tokens: Token[] = [];
  for (const piece of text.split(pattern)) {
    if (!piece) continue;
    if (reserved.includes(piece)) {
      appendAll(tokens, tokenizer.tokenize(piece.slice(0, 1)));
      appendAll(tokens, tokenizer.tokenize(piece.slice(1)));
    } else {
      appendAll(tokens, tokenizer.tokenize(piece));
    }
  }
  if (tokens.some((t) => specials.has(t))) {
    throw new DuetError(
      "invalid-argument",
      "The text could not be kept apart from the model's control tokens.",
    );
  }
  return tokens;
}

export interface StreamVocabulary {
  /** Logit bias per stream: forbidden tokens get -100 (docs/method.md, The generation loop). */
  bias: Readonly<Record<StreamName, ReadonlyMap<Token, number>>>;
  thinkClose: Token;
  yes: readonly Token[];
  no: readonly Token[];
}

const vocabularyCache = new WeakMap<TokenizerInfo, Map<string, StreamVocabulary>>();

/** Forbidden-token biases and probe answer ids, scanned once per model and family. */
export function streamVocabulary(tokenizer: TokenizerInfo, family: PromptFamily): StreamVocabulary {
  const perFamily = vocabularyCache.get(tokenizer) ?? new Map<string, StreamVocabulary>();
  vocabularyCache.set(tokenizer, perFamily);
  const cached = perFamily.get(family.id);
  if (cached) return cached;

  const special = (text: string): Token => {
    const id = tokenizer.specialToken(text);
    if (id === undefined) {
      throw new DuetError(
        "unknown-prompt-family",
        `The model's vocabulary lacks ${text}, which the ${family.displayName} format needs.`,
      );
    }
    return id;
  };
  const markerTokens: Token[] = [];
  const endOfGeneration: Token[] = [];
  for (let token = 0; token < tokenizer.vocabularySize; token++) {
    const text = tokenizer.tokenText(token).trim();
    if (text.endsWith(family.linkerMarker) || text.endsWith(`${family.linkerMarker}:`))
      markerTokens.push(token);
    if (tokenizer.isEndOfGeneration(token)) endOfGeneration.push(token);
  }
  const biasFor = (texts: readonly string[], extra: readonly Token[]): Map<Token, number> => {
    const bias = new Map<Token, number>();
    for (const id of [...specialTokenIds(tokenizer, texts), ...extra]) bias.set(id, -100);
    return bias;
  };
  const singleTokens = (spellings: readonly string[]): Token[] => {
    const ids = new Set<Token>();
    for (const s of spellings) {
      const t = tokenizer.tokenize(s);
      if (t.length === 1) ids.add(t[0]!);
    }
    return [...ids];
  };
  const result: StreamVocabulary = {
    bias: {
      writer: biasFor(family.forbidden.writer, markerTokens),
      // The thinker must never end the turn itself: every end-of-generation token is forbidden.
      thinker: biasFor(family.forbidden.thinker, [...markerTokens, ...endOfGeneration]),
    },
    thinkClose: special(family.thinkClose),
    yes: singleTokens(family.yesSpellings),
    no: singleTokens(family.noSpellings),
  };
  if (result.yes.length === 0 || result.no.length === 0) {
    throw new DuetError(
      "unknown-prompt-family",
      "The vocabulary has no single-token spelling of yes or no, so the probe cannot run.",
    );
  }
  perFamily.set(family.id, result);
  return result;
}

/**
 * Turns a stream of tokens into text deltas. Byte-level tokens can end inside a UTF-8
 * character; such text is held back until the character is complete.
 */
export class TextAssembler {
  private readonly tokens: Token[] = [];
  private emitted = "";
  private emittedTokens = 0;

  constructor(private readonly tokenizer: TokenizerInfo) {}

  /** Adds a token and returns the newly completed text (possibly empty). */
  push(token: Token): string {
    this.tokens.push(token);
    // Detokenize a short window for context (leading-space rules), then diff against what was emitted.
    const windowStart = Math.max(0, this.emittedTokens - 8);
    const window = this.tokens.slice(windowStart);
    const text = this.tokenizer.detokenize(window);
    const before = this.tokenizer.detokenize(this.tokens.slice(windowStart, this.emittedTokens));
    if (text.endsWith("\uFFFD") && this.tokens.length - this.emittedTokens < 4) return "";
    const delta = text.startsWith(before) ? text.slice(before.length) : text;
    this.emitted += delta;
    this.emittedTokens = this.tokens.length;
    return delta;
  }

  get text(): string {
    return this.emitted;
  }

  /** Text of the last `n` tokens (for paragraph-end checks). */
  tail(n: number): string {
    return this.tokenizer.detokenize(this.tokens.slice(-n));
  }

  /** Forgets tokens from `keep` on (after a truncation). */
  truncate(keep: number): void {
    this.tokens.length = Math.min(keep, this.tokens.length);
    this.emittedTokens = Math.min(this.emittedTokens, this.tokens.length);
    this.emitted = this.tokenizer.detokenize(this.tokens.slice(0, this.emittedTokens));
  }
}
