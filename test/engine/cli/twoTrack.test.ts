import { describe, expect, it } from "vitest";
import { TwoTrackRenderer, type TrackOutput } from "../../../src/engine/cli/twoTrack.js";
import type { TurnEvent } from "../../../src/shared/turnEvents.js";

const ESC = String.fromCharCode(27);
const CODES = new RegExp(`${ESC}\\[[0-9;]*[A-Za-z]`, "g");
/** A redraw moves the cursor up over the previous frame and clears below it. */
const REDRAW = new RegExp(`${ESC}\\[\\d+F${ESC}\\[J`);

/** A terminal that keeps what was written, with the escape codes taken out. */
function terminal(columns = 60, rows = 20): TrackOutput & { text(): string; frames(): string[] } {
  let written = "";
  return {
    isTTY: true,
    columns,
    rows,
    write(chunk: string | Uint8Array) {
      written += String(chunk);
      return true;
    },
    text: () => written.replace(CODES, ""),
    frames: () => written.split(REDRAW).map((f) => f.replace(CODES, "")),
  };
}

const at = { timeMs: 0, step: 0 };
const thought = (text: string): TurnEvent => ({ type: "thought", text, token: 0, index: 0, ...at });
const answer = (text: string, index: number): TurnEvent => ({ type: "answer", text, token: 0, index, ...at });

describe("the terminal's two tracks", () => {
  it("shows the question above both tracks on a terminal, paragraphs without a stray first space", () => {
    const tty = terminal();
    const renderer = new TwoTrackRenderer(tty, "What is two plus two?");
    for (const t of ["\n", "Okay", ", adding", ".\n\n", " Two", " and", " two"]) renderer.update(thought(t));
    ["Let", " me", " see", "!\n\n", " It", " is", " 4."].forEach((t, i) => renderer.update(answer(t, i)));
    renderer.finish();
    const last = tty.frames().at(-1)!;
    const lines = last.split("\n");
    expect(lines[0]).toBe("You: What is two plus two?");
    expect(lines[1]).toMatch(/^Thinking \(private\) +│ Answer \(spoken\)$/);
    expect(last).toMatch(/Okay, adding\. +│ Let me see!/);
    expect(last).toMatch(/\nTwo and two +│ It is 4\./);
  });

  it("takes the question from speech-to-text as it is heard", () => {
    const tty = terminal();
    const renderer = new TwoTrackRenderer(tty, "");
    renderer.setQuestion("what is", false);
    renderer.setQuestion("what is two plus two", true);
    renderer.note("speech-to-text error: something went wrong");
    renderer.finish();
    const last = tty.frames().at(-1)!;
    expect(last.split("\n")[0]).toBe("You: what is two plus two");
    expect(last).toMatch(/speech-to-text error: something went wrong\n$/);
  });

  it("prints whole labelled lines on a pipe, the heard question included", () => {
    let written = "";
    const pipe: TrackOutput = { write: (c: string | Uint8Array) => ((written += String(c)), true) };
    const renderer = new TwoTrackRenderer(pipe, "");
    renderer.setQuestion("what is", false);
    renderer.setQuestion("what is two plus two", true);
    for (const t of ["\n", "Okay", ", adding", ".\n\n", " Two"]) renderer.update(thought(t));
    ["Let", " me", " see", "!"].forEach((t, i) => renderer.update(answer(t, i)));
    renderer.finish();
    expect(written).toBe(
      "you said | what is two plus two\nthink | Okay, adding.\nthink | Two\nsay   | Let me see!\n",
    );
  });
});
