/**
 * A scripted stand-in for llama.cpp: it keeps real cells (sequence, position, token) with
 * llama.cpp's rules (appends only at max + 1, shifts, removals, negative positions deleted) and
 * answers "sampling" from scripts, so state machines and position bookkeeping can be tested
 * exactly and fast.
 */
import type {
  BatchItem,
  CandidateProbabilities,
  CellCopy,
  KvRuntime,
  LogitsRef,
  RuntimeCapabilities,
  SamplerConfig,
  SequencePositions,
  Token,
  TokenSampler,
  TokenizerInfo,
} from "../../src/engine/llama/types.js";

const SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"];
const ALWAYS_PARSED = ["<think>", "</think>"]; // user-defined in Qwen3: parsed even as plain text

/** Words, numbers, punctuation and newline runs, each a token; vocabulary grows on first sight. */
export class FakeTokenizer implements TokenizerInfo {
  private readonly ids = new Map<string, Token>();
  readonly texts: string[] = [];

  constructor(words: readonly string[] = []) {
    for (const s of [
      ...SPECIALS,
      " yes",
      " no",
      "yes",
      "no",
      "Yes",
      "No",
      " Yes",
      " No",
      "SYSTEM",
      " SYSTEM",
      ...words,
    ])
      this.id(s);
  }

  id(text: string): Token {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.ids.set(text, id);
      this.texts.push(text);
    }
    return id;
  }

  get vocabularySize(): number {
    return this.texts.length;
  }

  tokenize(text: string, options?: { special?: boolean }): Token[] {
    const specials = options?.special ? SPECIALS : ALWAYS_PARSED;
    const escaped = specials.map((s) => s.replace(/[|[\]\\/]/g, "\\$&"));
    const pattern = new RegExp(`(${escaped.join("|")})`);
    const tokens: Token[] = [];
    for (const part of text.split(pattern)) {
      if (!part) continue;
      if (specials.includes(part)) {
        tokens.push(this.id(part));
        continue;
      }
      for (const piece of part.match(/\n+| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]| +/g) ?? [])
        tokens.push(this.id(piece));
    }
    return tokens;
  }

  detokenize(tokens: readonly Token[]): string {
    return tokens.map((t) => this.texts[t] ?? "").join("");
  }

  tokenText(token: Token): string {
    return this.texts[token] ?? "";
  }

  specialToken(text: string): Token | undefined {
    return SPECIALS.includes(text) ? this.id(text) : undefined;
  }

  isEndOfGeneration(token: Token): boolean {
    return token === this.id("<|im_end|>") || token === this.id("<|endoftext|>");
  }
}

export interface ScriptContext {
  sequence: number;
  /** The sequence's tokens in position order up to and including the token whose logits these are. */
  context: Token[];
}

export interface FakeScripts {
  /** The next token for a stream's step. */
  next(context: ScriptContext): Token;
  /** Probability of yes and no after a probe question. */
  probe?(context: ScriptContext): { yes: number; no: number };
}

interface Cell {
  position: number;
  token: Token;
}

export class FakeKvRuntime implements KvRuntime {
  readonly cells: Cell[][];
  private decodeId = 0;
  private refs = new Map<number, ScriptContext>();
  decodes: BatchItem[][] = [];

  constructor(
    private readonly tokenizer: FakeTokenizer,
    private readonly scripts: FakeScripts,
    readonly contextSize = 4096,
    readonly sequences = 2,
    readonly batchSize = 512,
  ) {
    this.cells = Array.from({ length: sequences }, () => []);
  }

  /** While set, decodes wait for it: a turn is caught while it is still running, without timing. */
  private held: Promise<void> | undefined;

  /** Makes every decode wait until the returned function is called. */
  holdDecodes(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.held = held;
    return () => {
      if (this.held === held) this.held = undefined;
      release();
    };
  }

  /** Stock llama.cpp by default; a test may grant the patched build's operations. */
  capabilities: RuntimeCapabilities = { gapDecode: false, kvCopy: false };
  private gapDecoding = false;
  copies: CellCopy[][] = [];

  setGapDecoding(enabled: boolean): void {
    if (!this.capabilities.gapDecode) throw new Error("gap decoding is not supported");
    this.gapDecoding = enabled;
  }

  /** Like the patched llama.cpp, but stricter: a copy onto a position the target holds is refused. */
  async copyCells(copies: readonly CellCopy[]): Promise<number> {
    if (!this.capabilities.kvCopy) throw new Error("cell copies are not supported");
    this.copies.push(copies.map((c) => ({ ...c })));
    const added: Array<{ sequence: number; cell: Cell }> = [];
    for (const copy of copies) {
      for (const cell of this.cells[copy.from]!) {
        if (cell.position < copy.start || cell.position >= copy.end) continue;
        const position = cell.position + copy.delta;
        if (this.holds(copy.to, position))
          throw new Error(`sequence ${copy.to} already holds position ${position}`);
        added.push({ sequence: copy.to, cell: { position, token: cell.token } });
      }
    }
    for (const { sequence, cell } of added) this.cells[sequence]!.push(cell);
    return added.length;
  }

  private holds(sequence: number, position: number): boolean {
    return this.cells[sequence]!.some((c) => c.position === position);
  }

  async decode(items: readonly BatchItem[]): Promise<Array<LogitsRef | undefined>> {
    while (this.held) await this.held;
    this.decodeId++;
    this.refs = new Map();
    this.decodes.push(items.map((i) => ({ ...i, tokens: [...i.tokens] })));
    // Every token of the batch is in the cache before any logits are read, as in llama.cpp.
    for (const item of items) {
      const cells = this.cells[item.sequence]!;
      const { max } = this.positions(item.sequence);
      if (this.gapDecoding) {
        item.tokens.forEach((_, i) => {
          if (this.holds(item.sequence, item.firstPosition + i))
            throw new Error(`sequence ${item.sequence} already holds position ${item.firstPosition + i}`);
        });
      } else if (cells.length > 0 && item.firstPosition !== max + 1) {
        throw new Error(
          `inconsistent positions: sequence ${item.sequence} ends at ${max}, batch starts at ${item.firstPosition}`,
        );
      }
      if (cells.length + item.tokens.length > this.contextSize) throw new Error("no free cells");
      item.tokens.forEach((token, i) => cells.push({ position: item.firstPosition + i, token }));
    }
    return items.map((item, index) => {
      const cells = this.cells[item.sequence]!;
      if (item.logitIndex === undefined) return undefined;
      const upTo = item.firstPosition + item.logitIndex;
      const context = [...cells]
        .filter((c) => c.position <= upTo)
        .sort((a, b) => a.position - b.position)
        .map((c) => c.token);
      const ref = index;
      this.refs.set(ref, { sequence: item.sequence, context });
      return { decodeId: this.decodeId, index: ref };
    });
  }

  private context(logits: LogitsRef): ScriptContext {
    if (logits.decodeId !== this.decodeId) throw new Error("stale logits");
    const context = this.refs.get(logits.index);
    if (!context) throw new Error("no such logits");
    return context;
  }

  async sample(logits: LogitsRef, _sampler: TokenSampler): Promise<Token> {
    return this.scripts.next(this.context(logits));
  }

  async candidates(logits: LogitsRef): Promise<CandidateProbabilities> {
    const { yes, no } = this.scripts.probe?.(this.context(logits)) ?? { yes: 0.6, no: 0.4 };
    return { tokens: [this.tokenizer.id(" yes"), this.tokenizer.id(" no")], probabilities: [yes, no] };
  }

  createSampler(config: SamplerConfig): TokenSampler {
    return { config, dispose: () => {} };
  }

  remove(sequence: number, start: number, end: number): void {
    const last = end < 0 ? Infinity : end;
    const first = start < 0 ? -Infinity : start;
    this.cells[sequence] = this.cells[sequence]!.filter((c) => !(c.position >= first && c.position < last));
  }

  shift(sequence: number, start: number, end: number, delta: number): void {
    const last = end < 0 ? Infinity : end;
    for (const c of this.cells[sequence]!) if (c.position >= start && c.position < last) c.position += delta;
    this.cells[sequence] = this.cells[sequence]!.filter((c) => c.position >= 0);
  }

  positions(sequence: number): SequencePositions {
    const cells = this.cells[sequence]!;
    if (cells.length === 0) return { min: -1, max: -1 };
    return { min: Math.min(...cells.map((c) => c.position)), max: Math.max(...cells.map((c) => c.position)) };
  }

  clear(sequence: number): void {
    this.cells[sequence] = [];
  }

  async dispose(): Promise<void> {}

  /** The sequence's cells as [position, token], in position order. */
  cellsByPosition(sequence: number): Array<[number, Token]> {
    return [...this.cells[sequence]!]
      .sort((a, b) => a.position - b.position)
      .map((c): [number, Token] => [c.position, c.token]);
  }

  /** The sequence's tokens in position order; throws if positions are not exactly 0..n-1. */
  orderedTokens(sequence: number): Token[] {
    const cells = [...this.cells[sequence]!].sort((a, b) => a.position - b.position);
    cells.forEach((c, i) => {
      if (c.position !== i) throw new Error(`sequence ${sequence}: position ${c.position} at index ${i}`);
    });
    return cells.map((c) => c.token);
  }
}

/**
 * Scripts that emit fixed token texts per sequence, one per call, and answer probes from a
 * list (the last answer repeats). After a list runs out, `<|im_end|>` (writer) or "." follows.
 */
export function listScripts(
  tokenizer: FakeTokenizer,
  perSequence: Record<number, readonly string[]>,
  probeAnswers: readonly ("yes" | "no")[] = ["yes"],
  probeSequence?: number,
): FakeScripts & { calls: number[]; probes: ScriptContext[] } {
  const calls: number[] = [];
  const probes: ScriptContext[] = [];
  return {
    calls,
    probes,
    next({ sequence }) {
      const index = calls[sequence] ?? 0;
      calls[sequence] = index + 1;
      const list = perSequence[sequence] ?? [];
      return tokenizer.id(list[index] ?? (sequence === 0 ? "<|im_end|>" : " more"));
    },
    probe(context) {
      if (probeSequence !== undefined && context.sequence !== probeSequence)
        throw new Error("probe on the wrong view");
      probes.push(context);
      const answer = probeAnswers[Math.min(probes.length - 1, probeAnswers.length - 1)];
      return answer === "yes" ? { yes: 0.7, no: 0.2 } : { yes: 0.2, no: 0.7 };
    },
  };
}
