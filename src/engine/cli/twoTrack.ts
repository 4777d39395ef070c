import type { TurnEvent } from "../reasoning/events.js";

/** Wraps text to lines of at most `width` characters, keeping the text's own line breaks. */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/(\s+)/)) {
      if (word === "") continue;
      if ((line + word).length > width && line.trim() !== "") {
        lines.push(line.trimEnd());
        line = word.trimStart();
      } else {
        line += word;
      }
      while (line.length > width) {
        lines.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    lines.push(line);
  }
  return lines;
}

/** Paragraphs without the space a new paragraph's first token often carries. */
const tidy = (text: string): string => text.trimStart().replace(/\n[ \t]*\n[ \t]+/g, "\n\n");

const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";

/** Where the renderer writes: a terminal (live, redrawn) or anything else (a pipe, a file). */
export type TrackOutput = Pick<NodeJS.WriteStream, "write"> & {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
};

/**
 * Shows the question, the thinking track (dimmed) and the answer track side by side, redrawn
 * live on a terminal; on a pipe it prints the tracks as labelled whole lines instead.
 */
export class TwoTrackRenderer {
  private thoughts = "";
  private answer = "";
  private status = "";
  private readonly notes: string[] = [];
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly partial = { thinking: "", answer: "" };
  private readonly live: boolean;

  /** `question`: known at once (typed), or empty until speech-to-text says it (setQuestion). */
  constructor(
    private readonly out: TrackOutput,
    private question: string,
  ) {
    this.live = out.isTTY === true;
    if (!this.live && question) out.write(`Question: ${question}\n`);
  }

  /** What the user said so far (while listening), and once it is final. */
  setQuestion(text: string, final: boolean): void {
    if (this.live) {
      this.question = text;
      this.schedule();
    } else if (final) {
      this.out.write(`you said | ${text}\n`);
    }
  }

  /** A line for the user (an error) shown under the tracks, not through them. */
  note(line: string): void {
    if (!this.live) {
      this.out.write(`${line}\n`);
      return;
    }
    this.notes.push(line);
    this.schedule();
  }

  update(event: TurnEvent): void {
    switch (event.type) {
      case "thought":
        this.thoughts += event.text;
        this.emitPlain("thinking", event.text);
        break;
      case "answer":
        this.answer += event.text;
        this.emitPlain("answer", event.text);
        break;
      case "truncate":
        this.answer = "";
        break;
      case "state":
        this.status = `${event.state.replace(/_/g, " ")} (step ${event.step}: ${event.reason})`;
        break;
      case "probe":
        this.status = `probe at step ${event.step}: ${event.decision} (p yes ${event.pYes.toFixed(2)}, p no ${event.pNo.toFixed(2)})`;
        break;
      default:
        return;
    }
    this.schedule();
  }

  /** On a pipe: whole lines per track, so the two tracks stay readable when interleaved. */
  private emitPlain(track: "thinking" | "answer", text: string, flush = false): void {
    if (this.live) return;
    this.partial[track] += text;
    const label = track === "thinking" ? "think |" : "say   |";
    const lines = this.partial[track].split("\n");
    this.partial[track] = flush ? "" : lines.pop()!;
    for (const line of lines) if (line.trim() !== "") this.out.write(`${label} ${line.trim()}\n`);
  }

  private schedule(): void {
    if (!this.live || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw(false);
    }, 50);
  }

  private draw(full: boolean): void {
    const width = Math.max(40, this.out.columns ?? 100);
    const column = Math.floor((width - 3) / 2);
    const left = wrapText(tidy(this.thoughts), column);
    const right = wrapText(tidy(this.answer), column);
    const asked = wrapText(`You: ${this.question || "…"}`, width).slice(0, 3);
    const maxRows = full
      ? Infinity
      : Math.max(4, (this.out.rows ?? 30) - 7 - asked.length - this.notes.length);
    const rows = Math.min(Math.max(left.length, right.length), maxRows);
    const tail = (lines: string[]): string[] => lines.slice(Math.max(0, lines.length - rows));
    const l = tail(left);
    const r = tail(right);
    const out: string[] = [];
    for (const line of asked) out.push(`${BOLD}${line}${RESET}`);
    out.push(`${BOLD}${"Thinking (private)".padEnd(column)}${RESET} │ ${BOLD}Answer (spoken)${RESET}`);
    for (let i = 0; i < rows; i++) {
      out.push(`${DIM}${(l[i] ?? "").padEnd(column)}${RESET} │ ${r[i] ?? ""}`);
    }
    out.push(`${DIM}${this.status}${RESET}`);
    for (const note of this.notes) out.push(note);
    const clear = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[J` : "";
    this.out.write(`${clear}${out.join("\n")}\n`);
    this.drawnLines = out.length;
  }

  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.live) this.draw(true);
    else {
      this.emitPlain("thinking", "", true);
      this.emitPlain("answer", "", true);
    }
  }
}
