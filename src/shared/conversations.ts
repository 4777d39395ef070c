/**
 * Saved conversations: the file format (validated on every read), the list the window shows, and
 * the Markdown export. The store that reads and writes them is src/main/conversations/store.ts.
 */
import { z } from "zod";
import type { VoiceTurnMetrics } from "./session.js";
import type { TurnRecord } from "./turnRecord.js";

/** The conversation file's format version. */
export const CONVERSATION_VERSION = 1;

const ms = z.number().finite();
const count = z.number().int().min(0);

const metricsSchema = z.object({
  releaseToFirstAudioMs: ms.nullable(),
  sttMs: ms.nullable(),
  ttftMs: ms.nullable(),
  stft: count.nullable(),
  stepsDelay: z.number().int().nullable(),
  totalDelay: ms,
  adjustedDelay: ms,
  heardSilence: ms,
  answerTokensPerSecond: ms,
  stepsPerSecond: ms,
  thinkerTokens: count,
  writerTokens: count,
  heardTokens: count,
  chunks: count,
  thoughtLagMean: ms,
  thoughtLagMax: ms,
  endReason: z.enum(["end-of-turn", "budget", "cancelled", "context-full", "error"]),
}) satisfies z.ZodType<VoiceTurnMetrics>;

/** One turn as saved: what the window needs to show it again exactly. */
export const savedTurnSchema = z.object({
  user: z.string(),
  interjections: z.array(z.string()),
  thoughts: z.string(),
  answerTokens: z.array(z.string()),
  heardTokens: count,
  voiceStopped: z.boolean().default(false),
  endReason: z.string().nullable(),
  metrics: metricsSchema.nullable(),
  timeline: z.object({
    thoughts: z.array(ms),
    answers: z.array(ms),
    chunks: z.array(z.object({ start: ms, end: ms })),
  }),
  startedAt: ms,
});
export type SavedTurn = z.infer<typeof savedTurnSchema>;

const historyItemSchema = z.object({ user: z.string(), answer: z.string() });

export const conversationSchema = z.object({
  version: z.literal(CONVERSATION_VERSION),
  id: z.string().regex(/^[a-z0-9-]{1,64}$/),
  title: z.string().max(200),
  /** The user named it; otherwise the title follows the first question. */
  titleIsCustom: z.boolean().default(false),
  createdAt: ms,
  updatedAt: ms,
  turns: z.array(savedTurnSchema),
  /**
   * What the engine keeps of the conversation (the user's words and the answers as heard), to
   * continue it exactly where it stopped.
   */
  history: z.array(historyItemSchema),
});
export type Conversation = z.infer<typeof conversationSchema>;

/** A conversation in the list. */
export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
  turns: number;
}

/** The conversation the window shows: its turns, ready to display. */
export interface OpenConversation {
  id: string;
  title: string;
  turns: TurnRecord[];
}

export const UNTITLED = "New conversation";

/** A title from the first question: its first line, at most about 60 characters, cut at a word. */
export function titleFromQuestion(question: string): string {
  const line = question.trim().split("\n")[0]!.replace(/\s+/g, " ");
  if (line === "") return UNTITLED;
  if (line.length <= 60) return line;
  const cut = line.slice(0, 60);
  const space = cut.lastIndexOf(" ");
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function savedTurn(turn: TurnRecord): SavedTurn {
  return {
    user: turn.user,
    interjections: turn.interjections,
    thoughts: turn.thoughts,
    answerTokens: turn.answerTokens,
    heardTokens: turn.heardTokens,
    voiceStopped: turn.voiceStopped,
    endReason: turn.endReason,
    metrics: turn.metrics,
    timeline: turn.timeline,
    startedAt: turn.startedAt,
  };
}

export function turnRecord(saved: SavedTurn, id: number): TurnRecord {
  return {
    ...saved,
    id,
    userTentative: "",
    userFinal: true,
    speaking: null,
    done: true,
    // A turn saved while it ran (the app stopped) did end, just without a reason.
    endReason: saved.endReason ?? "interrupted",
  };
}

/** Why a turn ended, in words; null for a normal end. */
export function endReasonWords(reason: string | null): string | null {
  switch (reason) {
    case null:
    case "end-of-turn":
      return null;
    case "cancelled":
      return "Stopped";
    case "budget":
      return "Stopped at the length limit";
    case "context-full":
      return "Stopped: the conversation fills the model's memory (start a new conversation)";
    case "error":
      return "Stopped by an error";
    case "engine stopped":
      return "Interrupted: the engine stopped";
    case "interrupted":
      return "Interrupted: Duet closed during this answer";
    default:
      return `Ended: ${reason.replace(/-/g, " ")}`;
  }
}

/** Markdown quote of text (every line, blank lines included). */
const quote = (text: string): string =>
  text
    .trim()
    .split("\n")
    .map((line) => (line.trim() === "" ? ">" : `> ${line}`))
    .join("\n");

/** The conversation as Markdown, with or without the thinking. */
export function conversationToMarkdown(
  conversation: Pick<Conversation, "title" | "createdAt" | "turns">,
  options: { thinking: boolean },
): string {
  const lines: string[] = [`# ${conversation.title}`, ""];
  lines.push(`_Saved from Duet, ${new Date(conversation.createdAt).toISOString().slice(0, 10)}._`, "");
  conversation.turns.forEach((turn, i) => {
    lines.push(`## ${i + 1}. ${turn.user.trim().split("\n")[0] || "(nothing was heard)"}`, "");
    if (turn.user.includes("\n")) lines.push(`**You:**`, "", turn.user.trim(), "");
    for (const words of turn.interjections) lines.push(`**You, interrupting:** ${words.trim()}`, "");
    if (options.thinking && turn.thoughts.trim() !== "") {
      lines.push("**Thinking:**", "", quote(turn.thoughts), "");
    }
    const answer = turn.answerTokens.join("").trim();
    lines.push("**Duet:**", "", answer === "" ? "_(no answer)_" : answer, "");
    const ended = endReasonWords(turn.endReason);
    if (ended) lines.push(`_${ended}._`, "");
    else if (turn.voiceStopped && turn.heardTokens < turn.answerTokens.length)
      lines.push("_Stopped while speaking._", "");
  });
  return `${lines.join("\n").trimEnd()}\n`;
}

/** A file name for the export: the title in safe characters. */
export function exportFileName(title: string): string {
  const safe = title
    .replace(/…$/, "")
    .replace(/[^\p{L}\p{N} _-]+/gu, " ")
    .trim()
    .replace(/\s+/g, " ")
    .slice(0, 80)
    .trim();
  return `${safe || "Conversation"}.md`;
}
