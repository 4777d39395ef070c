import { describe, expect, it } from "vitest";
import {
  conversationToMarkdown,
  endReasonWords,
  exportFileName,
  titleFromQuestion,
  type SavedTurn,
} from "../../src/shared/conversations.js";

const saved = (user: string, thoughts: string, answer: string[], endReason = "end-of-turn"): SavedTurn => ({
  user,
  interjections: [],
  thoughts,
  answerTokens: answer,
  heardTokens: answer.length,
  voiceStopped: false,
  endReason,
  metrics: null,
  timeline: { thoughts: [], answers: [], chunks: [] },
  startedAt: Date.UTC(2026, 2, 4),
});

describe("saved conversations in words", () => {
  it("titles a conversation after its first question, cut at a word", () => {
    expect(titleFromQuestion("  What is two plus two?\nAnd why?")).toBe("What is two plus two?");
    const long = titleFromQuestion(
      "Could you explain how asynchronous reasoning keeps the answer behind the thoughts without retraining anything",
    );
    expect(long).toBe("Could you explain how asynchronous reasoning keeps the…");
    expect(titleFromQuestion("   ")).toBe("New conversation");
  });

  it("exports Markdown with the thinking as a quote, or without it", () => {
    const conversation = {
      title: "Two plus two",
      createdAt: Date.UTC(2026, 2, 4),
      turns: [
        saved("What is two plus two?", "\nOkay, adding.\n\nTwo and two make four.", [
          "Let me",
          " see!\n\n",
          "It is 4.",
        ]),
        { ...saved("And times three?", "", ["It is 12"], "cancelled"), interjections: ["wait"] },
      ],
    };
    const withThinking = conversationToMarkdown(conversation, { thinking: true });
    expect(withThinking).toBe(
      [
        "# Two plus two",
        "",
        "_Saved from Duet, 2026-03-04._",
        "",
        "## 1. What is two plus two?",
        "",
        "**Thinking:**",
        "",
        "> Okay, adding.",
        ">",
        "> Two and two make four.",
        "",
        "**Duet:**",
        "",
        "Let me see!",
        "",
        "It is 4.",
        "",
        "## 2. And times three?",
        "",
        "**You, interrupting:** wait",
        "",
        "**Duet:**",
        "",
        "It is 12",
        "",
        "_Stopped._",
        "",
      ].join("\n"),
    );
    const without = conversationToMarkdown(conversation, { thinking: false });
    expect(without).not.toMatch(/Thinking|adding/);
    expect(without).toMatch(/It is 4\./);
  });

  it("says why a turn ended, and names export files safely", () => {
    expect(endReasonWords("end-of-turn")).toBeNull();
    expect(endReasonWords("cancelled")).toBe("Stopped");
    expect(endReasonWords("context-full")).toMatch(/start a new conversation/);
    expect(exportFileName("What is 2/2? <script>")).toBe("What is 2 2 script.md");
    expect(exportFileName("…")).toBe("Conversation.md");
  });
});
