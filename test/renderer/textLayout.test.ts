import { describe, expect, it } from "vitest";
import { answerParagraphs, paragraphs } from "../../src/renderer/components/textLayout.js";
import { modelFileFromDrop } from "../../src/renderer/dropModel.js";

describe("streamed text as paragraphs", () => {
  it("splits at blank lines and drops the space a paragraph's first token brings", () => {
    expect(paragraphs("\nOkay, adding.\n\n Two and two\nmake four.\n \n  Checked")).toEqual([
      "Okay, adding.",
      "Two and two\nmake four.",
      "Checked",
    ]);
    expect(paragraphs("")).toEqual([]);
    expect(paragraphs("\n\n\n")).toEqual([]);
  });

  it("marks what was heard, what is being said and the rest, across paragraphs", () => {
    const tokens = ["Let", " me", " see", "!\n\n", " It", " is", " 4", "."];
    expect(answerParagraphs(tokens, 2, { from: 2, to: 5 })).toEqual([
      [
        { text: "Let me", kind: "heard" },
        { text: " see!", kind: "speaking" },
      ],
      [
        { text: "It", kind: "speaking" },
        { text: " is 4.", kind: "unheard" },
      ],
    ]);
    expect(answerParagraphs(tokens, 8, null)).toEqual([
      [{ text: "Let me see!", kind: "heard" }],
      [{ text: "It is 4.", kind: "heard" }],
    ]);
    // A chunk that ends before the heard part (a stale report) marks nothing as being said.
    expect(answerParagraphs(tokens, 4, { from: 0, to: 2 })[1]).toEqual([
      { text: "It is 4.", kind: "unheard" },
    ]);
  });
});

describe("a file dropped on the window", () => {
  const file = (name: string) => ({ name }) as File;
  it("imports one model file by the path the desktop app gives", () => {
    expect(modelFileFromDrop([file("Qwen3-1.7B-Q8_0.gguf")], () => "/home/me/Qwen3-1.7B-Q8_0.gguf")).toEqual({
      path: "/home/me/Qwen3-1.7B-Q8_0.gguf",
      name: "Qwen3-1.7B-Q8_0.gguf",
    });
  });

  it("says in words why anything else is not imported", () => {
    expect(modelFileFromDrop([file("notes.txt")], () => "/x")).toEqual({
      error: expect.stringMatching(/notes\.txt is not a model file: Duet takes GGUF models/),
    });
    expect(modelFileFromDrop([file("a.gguf"), file("b.gguf")], () => "/x")).toEqual({
      error: "Drop one model file at a time.",
    });
    // A browser never tells the page where a file is.
    expect(modelFileFromDrop([file("a.gguf")], undefined)).toEqual({
      error: expect.stringMatching(/works in the desktop app\. Here, type the file's path/),
    });
    expect(modelFileFromDrop([], () => "/x")).toEqual({
      error: expect.stringMatching(/Nothing was dropped/),
    });
  });
});
