import { DuetError } from "../errors.js";
import type { PromptPart } from "./layout.js";
import { QWEN3_FAMILY } from "./qwen3.js";

export interface PromptOptions {
  /** The thinker runs a safety check first; "yes" from the probe means the check is done. */
  safety: boolean;
  /** Extra system instructions from the user's settings (appended to every system prompt). */
  extraInstructions?: string;
}

export type ProbeStyle = "thinker-aside" | "user-turn";

/**
 * Everything model-family specific: chat tokens and the text of every static block. Texts
 * containing special tokens are tokenized with special-token parsing; user text never is.
 */
export interface PromptFamily {
  readonly id: string;
  readonly displayName: string;
  /** Static text of a prompt block, special tokens spelled out. */
  part(part: PromptPart, options: PromptOptions): string;
  /** Closes a user turn and opens the assistant's (used when a turn becomes history). */
  readonly userClose: string;
  /** Closes an assistant turn in history. */
  readonly assistantClose: string;
  /** Tokens each stream starts with, fed before its first own token (not counted as output). */
  readonly starters: Readonly<{ thinker: string; writer: string }>;
  readonly thinkClose: string;
  /** Special-token texts that must stay plain text when a user types them. */
  readonly reservedTexts: readonly string[];
  /** Special-token texts each stream must never emit (logit -100). */
  readonly forbidden: Readonly<{ thinker: readonly string[]; writer: readonly string[] }>;
  /** A word the linker blocks use; tokens that end with it are forbidden to both streams. */
  readonly linkerMarker: string;
  probeQuestion(style: ProbeStyle, options: PromptOptions): string;
  readonly yesSpellings: readonly string[];
  readonly noSpellings: readonly string[];
  /** Marked text for words the user says after the turn has started. */
  interjection(text: string): string;
  /** Marked text for the thinker when words it already reasoned about were heard differently. */
  correction(previous: string, corrected: string): string;
}

export const PROMPT_FAMILIES: readonly PromptFamily[] = [QWEN3_FAMILY];

/** Picks the prompt family from a GGUF chat template; throws a clear error for unknown ones. */
export function detectPromptFamily(chatTemplate: string | undefined, modelPath = "The model"): PromptFamily {
  if (!chatTemplate) {
    throw new DuetError(
      "unknown-prompt-family",
      `${modelPath} has no chat template, so Duet cannot tell how to format prompts for it. Use a Qwen3 reasoning model.`,
    );
  }
  const chatml = chatTemplate.includes("<|im_start|>") && chatTemplate.includes("<|im_end|>");
  const thinks = chatTemplate.includes("<think>") || chatTemplate.includes("</think>");
  if (chatml && thinks) return QWEN3_FAMILY;
  if (chatml) {
    throw new DuetError(
      "unknown-prompt-family",
      `${modelPath} uses ChatML but its template has no <think> section: it is not a reasoning model Duet can drive. ` +
        "Use a Qwen3 model (for example Qwen3-1.7B or Qwen3-4B).",
    );
  }
  throw new DuetError(
    "unknown-prompt-family",
    `${modelPath} has a chat template Duet does not recognise. Supported families: ${PROMPT_FAMILIES.map((f) => f.displayName).join(", ")}.`,
  );
}

export function familyById(id: string): PromptFamily {
  const family = PROMPT_FAMILIES.find((f) => f.id === id);
  if (!family) {
    throw new DuetError(
      "unknown-prompt-family",
      `Unknown prompt family "${id}". Known: ${PROMPT_FAMILIES.map((f) => f.id).join(", ")}.`,
    );
  }
  return family;
}
