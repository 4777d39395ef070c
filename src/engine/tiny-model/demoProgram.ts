import type { TinyProgram } from "./tinyModel.js";

/** Rules that make each word of `words` follow the one before it. Words must not repeat across chains. */
export function chainRules(words: readonly string[]): Array<readonly [string, string]> {
  return words.slice(0, -1).map((word, i) => [word, words[i + 1]!] as const);
}

/** What the demo model thinks: three short paragraphs, then `</think>`. Starts from Qwen3's thinker starter "\n". */
export const DEMO_THOUGHTS = [
  "\n",
  "Okay",
  ",",
  " adding",
  " small",
  " numbers",
  ".\n\n",
  "Two",
  " and",
  " two",
  " make",
  " four",
  ";",
  " quickly",
  " verified",
  "?\n\n",
  "Checked",
  "</think>",
] as const;

/** What the demo model says: two paragraphs, then end of turn. Starts from the writer starter "\n\n". */
export const DEMO_ANSWER = [
  "\n\n",
  "Let",
  " me",
  " work",
  " it",
  " out",
  "!\n\n",
  "So",
  " the",
  " answer",
  " is",
  " 4",
  ".",
  "<|im_end|>",
] as const;

/**
 * A scripted model for demos and end-to-end tests through real llama.cpp: the thinker and the
 * writer follow fixed chains, and both probe styles lean to "yes" (the paper style's question
 * ends with ":", the chat style's with "\n\n", where " yes" is the runner-up after "Let").
 */
export const DEMO_PROGRAM: TinyProgram = {
  rules: [
    ...chainRules(DEMO_THOUGHTS),
    ...chainRules(DEMO_ANSWER).filter(([from]) => from !== "\n\n"),
    [
      "\n\n",
      [
        ["Let", 30],
        [" yes", 28],
      ],
    ],
    [
      ":",
      [
        [" yes", 3],
        [" no", 0],
      ],
    ],
    // Only the sequential "thinking" baseline feeds `</think>`; the answer follows it there.
    ["</think>", "\n\n"],
  ],
};
