/**
 * Groups writer tokens into speech chunks of k tokens (docs/method.md, Metrics), never splitting a
 * LaTeX expression: a chunk is flushed once it has at least k tokens and is outside `$...$` or
 * `$$...$$`. A chunk is ready when its last token was written.
 */

export interface TimedText {
  text: string;
  timeMs: number;
}

export interface TextChunk {
  /** The tokens' text joined, trimmed, newlines deleted (as the reference does before timing speech). */
  text: string;
  /** Raw joined text, newlines kept. */
  raw: string;
  /** Time of the chunk's last token. */
  timeMs: number;
  /** Index of the first and one past the last token. */
  startToken: number;
  endToken: number;
}

/** Tracks whether the text so far leaves a `$` or `$$` math span open. */
export class MathTracker {
  private inMath: "" | "$" | "$$" = "";
  private pendingDollar = false;

  feed(text: string): void {
    for (const ch of text) {
      if (ch === "$") {
        if (this.pendingDollar) {
          this.pendingDollar = false;
          this.toggle("$$");
        } else {
          this.pendingDollar = true;
        }
        continue;
      }
      if (this.pendingDollar) {
        this.pendingDollar = false;
        this.toggle("$");
      }
    }
  }

  private toggle(delimiter: "$" | "$$"): void {
    if (this.inMath === "") this.inMath = delimiter;
    else if (this.inMath === delimiter) this.inMath = "";
  }

  /** True when a math span is open, or a single `$` may still become `$$` or open one. */
  get open(): boolean {
    return this.inMath !== "" || this.pendingDollar;
  }
}

export class TokenChunker {
  private readonly math = new MathTracker();
  private buffer: TimedText[] = [];
  private start = 0;
  private index = 0;

  constructor(private readonly k = 5) {
    if (!(k >= 1)) throw new RangeError("k must be at least 1");
  }

  /** Adds a token; returns a chunk when one is complete. */
  push(token: TimedText): TextChunk | undefined {
    this.buffer.push(token);
    this.index++;
    this.math.feed(token.text);
    if (this.buffer.length >= this.k && !this.math.open) return this.flush();
    return undefined;
  }

  /** Whatever is left at the end of the answer. */
  flush(): TextChunk | undefined {
    if (this.buffer.length === 0) return undefined;
    const raw = this.buffer.map((t) => t.text).join("");
    const chunk: TextChunk = {
      text: raw.replace(/[\r\n]+/g, "").trim(),
      raw,
      timeMs: this.buffer[this.buffer.length - 1]!.timeMs,
      startToken: this.start,
      endToken: this.index,
    };
    this.buffer = [];
    this.start = this.index;
    return chunk;
  }
}

export function chunkTokens(tokens: readonly TimedText[], k = 5): TextChunk[] {
  const chunker = new TokenChunker(k);
  const chunks: TextChunk[] = [];
  for (const t of tokens) {
    const c = chunker.push(t);
    if (c) chunks.push(c);
  }
  const rest = chunker.flush();
  if (rest) chunks.push(rest);
  return chunks;
}
