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

const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";

/**
 * Shows the thinking track (dimmed) and the answer track side by side, redrawn live on a
 * terminal; on a pipe it prints the two tracks as labelled runs of text instead.
 */
export class TwoTrackRenderer {
  private thoughts = "";
  private answer = "";
  private status = "";
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly partial = { thinking: "", answer: "" };
  private readonly live: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly question: string,
  ) {
    this.live = out.isTTY === true;
    if (!this.live) out.write(`Question: ${question}\n`);
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
    const left = wrapText(this.thoughts.trimStart(), column);
    const right = wrapText(this.answer.trimStart(), column);
    const maxRows = full ? Infinity : Math.max(4, (this.out.rows ?? 30) - 6);
    const rows = Math.min(Math.max(left.length, right.length), maxRows);
    const tail = (lines: string[]): string[] => lines.slice(Math.max(0, lines.length - rows));
    const l = tail(left);
    const r = tail(right);
    const out: string[] = [];
    out.push(`${BOLD}${"Thinking (private)".padEnd(column)}${RESET} │ ${BOLD}Answer (spoken)${RESET}`);
    for (let i = 0; i < rows; i++) {
      out.push(`${DIM}${(l[i] ?? "").padEnd(column)}${RESET} │ ${r[i] ?? ""}`);
    }
    out.push(`${DIM}${this.status}${RESET}`);
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
