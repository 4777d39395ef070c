import { appendAll } from "../../shared/arrays.js";
import { chainRules } from "./demoProgram.js";
import type { TinyProgram } from "./tinyModel.js";

export interface LongProgramOptions {
  /** Words the thinker writes before `</think>`. */
  thoughtWords: number;
  /** Words of the answer before its end. */
  answerWords: number;
  /** Words per thinking paragraph. Default 45. */
  thoughtParagraph?: number;
  /**
   * Words per answer paragraph. Default 30. The writer waits at each paragraph's end for the
   * next "yes" (up to a probe interval), and the turn ends with the answer: short answer
   * paragraphs make a long turn with a long thinking track.
   */
  answerParagraph?: number;
  /** Put a long string without spaces (a URL) into the first thinking paragraph. Default false. */
  unbroken?: boolean;
}

export interface LongProgram {
  program: TinyProgram;
  /** The thinker's tokens (from its starter "\n" to `</think>`) and the writer's (from "\n\n" to the end). */
  thoughts: string[];
  answer: string[];
  /** The unbroken string, when there is one. */
  unbrokenText?: string;
}

/** Word pieces built from syllables; the two tracks use different syllables so no word repeats. */
const THOUGHT_SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ren",
  "tu",
  "sa",
  "vel",
  "dor",
  "pi",
  "ne",
  "gor",
  "fa",
  "zu",
  "bel",
];
const ANSWER_SYLLABLES = ["an", "te", "ros", "qui", "mel", "do", "va", "sur", "li", "nor", "pe", "hac"];

/** The i-th word of a syllable set: i written in base n, at least two syllables. */
function word(i: number, syllables: readonly string[]): string {
  const n = syllables.length;
  let rest = i;
  let out = "";
  do {
    out += syllables[rest % n]!;
    rest = Math.floor(rest / n);
  } while (rest > 0);
  return out.length < 4 ? out + syllables[0]! : out;
}

/** Paragraph ends that are single tokens and all different (a token may follow only one rule). */
function paragraphEnds(prefixes: readonly string[], count: number): string[] {
  const closers = ["", ")", "]", "'", '"', ")'", "])", ")]"];
  const out: string[] = [];
  for (const closer of closers)
    for (const prefix of prefixes) {
      if (out.length === count) return out;
      out.push(`${prefix}${closer}\n\n`);
    }
  if (out.length < count) throw new Error(`At most ${out.length} paragraphs are possible.`);
  return out;
}

/**
 * A scripted model that thinks and answers at length, for tests of long turns: hundreds of
 * distinct words in paragraphs, every one a single token, so each step writes exactly one word
 * per stream. The probe leans to "yes" as in the demo model (demoProgram.ts).
 */
export function longProgram(options: LongProgramOptions): LongProgram {
  const perThought = options.thoughtParagraph ?? 45;
  const perAnswer = options.answerParagraph ?? 30;
  const thoughtEnds = paragraphEnds([".", ";", "?"], Math.ceil(options.thoughtWords / perThought));
  const answerEnds = paragraphEnds(
    ["!", ".!", "?!", "!!", "...", "!."],
    Math.ceil(options.answerWords / perAnswer),
  );

  const thoughts: string[] = ["\n", "Considering"];
  let unbrokenText: string | undefined;
  for (let i = 0; i < options.thoughtWords; i++) {
    thoughts.push(` ${word(i + 1, THOUGHT_SYLLABLES)}`);
    if (options.unbroken && i === 8) {
      // Letters with one leading punctuation mark, or a run of punctuation, are single tokens.
      const pieces = [" https", "://", "example", ".org", "/averyveryverylongpathsegment"];
      for (let k = 0; k < 14; k++) pieces.push(`/${word(1000 + k, THOUGHT_SYLLABLES)}segmentwithoutspaces`);
      appendAll(thoughts, pieces);
      unbrokenText = pieces.join("").trim();
    }
    // A paragraph's first word keeps its leading space, as real models write it.
    if ((i + 1) % perThought === 0 && i + 1 < options.thoughtWords)
      thoughts.push(thoughtEnds[Math.floor(i / perThought)]!);
  }
  thoughts.push(thoughtEnds.at(-1)!, "</think>");

  const first = "Answering";
  const answer: string[] = ["\n\n", first];
  for (let i = 0; i < options.answerWords; i++) {
    answer.push(` ${word(i + 1, ANSWER_SYLLABLES)}`);
    if ((i + 1) % perAnswer === 0 && i + 1 < options.answerWords)
      answer.push(answerEnds[Math.floor(i / perAnswer)]!);
  }
  answer.push(".", "<|im_end|>");

  const program: TinyProgram = {
    rules: [
      ...chainRules(thoughts),
      ...chainRules(answer).filter(([from]) => from !== "\n\n"),
      [
        "\n\n",
        [
          [first, 30],
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
    ],
  };
  return { program, thoughts, answer, ...(unbrokenText ? { unbrokenText } : {}) };
}
