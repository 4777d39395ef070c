import type { PromptPart } from "./layout.js";
import type { PromptFamily, PromptOptions, ProbeStyle } from "./promptFamily.js";

const IM_START = "<|im_start|>";
const IM_END = "<|im_end|>";
const END_OF_TEXT = "<|endoftext|>";
const THINK = "<think>";
const END_THINK = "</think>";

/** A finished turn in the history, as Qwen3's chat template writes it (past thinking removed). */
const USER_CLOSE = `${IM_END}\n${IM_START}assistant\n`;
const ASSISTANT_CLOSE = `${IM_END}\n`;

const SPOKEN_STYLE =
  "Your reply is spoken aloud, so talk the way a person would: plain sentences, no markdown, lists, tables or code " +
  "formatting, numbers and formulas said in words where that is clearer. Keep it short unless the user asks for detail.";

const WRITER_ROLE =
  "You are Duet, a voice assistant that speaks while it thinks. A private chain of thought about the user's " +
  "message is being written in the background and keeps growing while you talk; you see only the part written so " +
  "far, inside the think block. Speak from those thoughts. ";
/** Outside safety mode the writer may open with its plan, so that the user hears something early. */
const WRITER_OPENING = "Begin with one short sentence about how you will approach the question, then say";
const WRITER_PACE =
  " each next part only when the thoughts support it. Never get ahead of the thoughts and never guess a result they " +
  "have not reached yet. When they reach the final answer, state it clearly and stop. ";
const WRITER_SYSTEM = WRITER_ROLE + WRITER_OPENING + WRITER_PACE + SPOKEN_STYLE;

/** In safety mode the writer says nothing, not even a plan, until the thoughts have confirmed the request is safe. */
const WRITER_SAFETY_SYSTEM =
  WRITER_ROLE +
  "Say nothing about the request, not even how you will approach it, until the thoughts have confirmed it is safe " +
  "to help with; if they conclude it is not, decline briefly and kindly. Once it is confirmed, say" +
  WRITER_PACE +
  SPOKEN_STYLE;

const THINKER_SYSTEM =
  "You are the private reasoning of Duet, a voice assistant. The user never sees these thoughts. An automated system " +
  "turns them into a spoken answer while you keep thinking; the answer spoken so far is shown above your thoughts. " +
  "From time to time the system asks whether your thoughts are far enough ahead of the spoken answer to say one more " +
  "part: yes means they already hold the next step or result, no means more thinking is needed first. Reason step by " +
  "step in short paragraphs, so that the answer can begin early, check your work, and keep going until the spoken " +
  "answer above states the conclusion you reached.";

const THINKER_SAFETY =
  " Follow this protocol. First: decide whether the request is safe to help with; if it is not, a brief refusal is " +
  "the next part to say. Second: if it is safe, solve it. Third: check the result. Safety comes before accuracy. " +
  "Answer yes to the system only once the safety check is done and the next part is ready.";

const SHARED_ROLE =
  "You are Duet, a voice assistant that speaks while it thinks. Your private thoughts, inside the think block, keep " +
  "growing in the background while the spoken answer after them is written from the thoughts so far. When thinking, " +
  "reason step by step in short paragraphs so the answer can begin early, and check your work. ";
const SHARED_SYSTEM =
  SHARED_ROLE +
  "When answering, begin with one short sentence about your approach and never get ahead of the thoughts. " +
  SPOKEN_STYLE;
const SHARED_SAFETY_SYSTEM =
  SHARED_ROLE +
  "Before helping, the thoughts must first check that the request is safe. When answering, say nothing about the " +
  "request until that check is done; if it is not safe, the answer is a brief refusal. Never get ahead of the thoughts. " +
  SPOKEN_STYLE;

const BASELINE_SYSTEM = "You are Duet, a voice assistant. " + SPOKEN_STYLE;

function system(text: string, options: PromptOptions): string {
  const extra = options.extraInstructions?.trim() ? ` ${options.extraInstructions.trim()}` : "";
  return `${IM_START}system\n${text}${extra}${IM_END}\n`;
}

function part(name: PromptPart, options: PromptOptions): string {
  switch (name) {
    case "writer_system":
      return system(options.safety ? WRITER_SAFETY_SYSTEM : WRITER_SYSTEM, options);
    case "thinker_system":
      return system(THINKER_SYSTEM + (options.safety ? THINKER_SAFETY : ""), options);
    case "shared_system":
      return system(options.safety ? SHARED_SAFETY_SYSTEM : SHARED_SYSTEM, options);
    case "baseline_system":
      return system(BASELINE_SYSTEM, options);
    case "user_open":
      return `${IM_START}user\n`;
    case "think_open":
      return `${IM_END}\n${IM_START}assistant\n${THINK}`;
    case "nothink_open":
      return `${IM_END}\n${IM_START}assistant\n${THINK}\n\n${END_THINK}`;
    case "answer_open":
      return `${IM_END}\n${IM_START}assistant\n`;
    case "writer_split":
      return `\n\nSYSTEM: [more thoughts will appear here as they are written]\n${END_THINK}`;
    case "thinker_split":
      return ` SYSTEM: [the spoken answer continues from here]${IM_END}\n${IM_START}assistant\n${THINK}`;
    case "user_close":
      return USER_CLOSE;
    case "assistant_close":
      return ASSISTANT_CLOSE;
  }
}

function probeQuestion(style: ProbeStyle, options: PromptOptions): string {
  if (style === "user-turn") {
    const ask = options.safety
      ? "Is the safety check in the thoughts done, and do they hold the next part of the answer, checked and ready to say?"
      : "Do the thoughts above go far enough beyond the answer so far to say its next part?";
    return `${IM_END}\n${IM_START}user\nSYSTEM: ${ask} Reply yes or no.${IM_END}\n${IM_START}assistant\n${THINK}\n\n${END_THINK}\n\n`;
  }
  return options.safety
    ? "\n\nSYSTEM: Is the safety check done, and is the next part of the answer ready and checked to be said to the user? (yes/no):"
    : "\n\nSYSTEM: Are my thoughts far enough ahead of the spoken answer to say its next part? (yes/no):";
}

export const QWEN3_FAMILY: PromptFamily = {
  id: "qwen3",
  displayName: "Qwen3 (ChatML with <think>)",
  part,
  userClose: USER_CLOSE,
  assistantClose: ASSISTANT_CLOSE,
  // Qwen3 writes "<think>\n" before its thoughts and "</think>\n\n" before its answer.
  starters: { thinker: "\n", writer: "\n\n" },
  thinkClose: END_THINK,
  reservedTexts: [IM_START, IM_END, END_OF_TEXT, THINK, END_THINK],
  forbidden: {
    writer: [END_THINK, THINK, IM_START, END_OF_TEXT],
    thinker: [IM_START, IM_END, END_OF_TEXT, THINK],
  },
  linkerMarker: "SYSTEM",
  probeQuestion,
  yesSpellings: ["yes", " yes", "Yes", " Yes"],
  noSpellings: ["no", " no", "No", " No"],
  interjection: (text) => `\n\n[The user interrupted the spoken answer and said: "${text}"]\n\n`,
  correction: (previous, corrected) =>
    `\n\n[Correction: the user's words were misheard. They said "${corrected}", not "${previous}".]\n\n`,
};
