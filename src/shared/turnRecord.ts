/**
 * A turn as the window shows it and a saved conversation keeps it: the user's words, the thoughts,
 * the answer's tokens (and how many were heard), the metrics and a timeline, built from the
 * session's events. One reducer for both: the window's store and the main process's conversation
 * recorder (src/main/conversations/) apply the same events the same way.
 */
import type { AppEvent } from "./ipc/contract.js";
import type { VoiceTurnMetrics } from "./session.js";

export interface TurnTimeline {
  /** ms since the turn started, one per thought token, answer token and spoken chunk. */
  thoughts: number[];
  answers: number[];
  chunks: Array<{ start: number; end: number }>;
}

export interface TurnRecord {
  id: number;
  user: string;
  /** Words still being recognised (push-to-talk held). */
  userTentative: string;
  userFinal: boolean;
  thoughts: string;
  answerTokens: string[];
  /** Answer tokens the user has heard. */
  heardTokens: number;
  /** The chunk the voice is saying now: answer tokens [from, to); null when silent. */
  speaking: { from: number; to: number } | null;
  interjections: string[];
  /** The voice was cut off mid-answer (Stop, or the user talked over it). */
  voiceStopped: boolean;
  done: boolean;
  /** Why the turn ended (an EndReason, or "engine stopped"); null while it runs. */
  endReason: string | null;
  metrics: VoiceTurnMetrics | null;
  timeline: TurnTimeline;
  /** Wall clock (ms since 1970) when the turn started. */
  startedAt: number;
}

/** The turns of one conversation, oldest first, and the typed question waiting for its turn to start. */
export interface TurnsState {
  turnIds: number[];
  turns: Record<number, TurnRecord>;
  /** Typed text sent but whose turn has not started yet (its "start" event carries no text). */
  pendingUserText: string | null;
  /**
   * The newest turn ended without a word and was removed: what still comes for it (its metrics)
   * is dropped until the next turn starts, instead of landing on the turn before.
   */
  droppedTurn: boolean;
}

export const emptyTurns = (): TurnsState => ({
  turnIds: [],
  turns: {},
  pendingUserText: null,
  droppedTurn: false,
});

/**
 * Something was said, thought or answered in the turn. One without (a tap on push-to-talk, a
 * cough in hands-free mode) is no part of the conversation once it has ended.
 */
export function hasWords(
  turn: Pick<TurnRecord, "user" | "thoughts" | "answerTokens" | "interjections">,
): boolean {
  return (
    turn.user.trim() !== "" ||
    turn.thoughts.trim() !== "" ||
    turn.answerTokens.length > 0 ||
    turn.interjections.length > 0
  );
}

export function newTurn(id: number, user: string, startedAt: number): TurnRecord {
  return {
    id,
    user,
    userTentative: "",
    userFinal: user !== "",
    thoughts: "",
    answerTokens: [],
    heardTokens: 0,
    speaking: null,
    interjections: [],
    voiceStopped: false,
    done: false,
    endReason: null,
    metrics: null,
    timeline: { thoughts: [], answers: [], chunks: [] },
    startedAt,
  };
}

/** The newest turn, if any. */
export function currentTurn(state: TurnsState): TurnRecord | undefined {
  const id = state.turnIds[state.turnIds.length - 1];
  return id === undefined ? undefined : state.turns[id];
}

/**
 * Applies events to the turns, returning a new state when anything changed (the same object
 * otherwise, so a store can skip re-rendering). `now` gives the wall clock for new turns.
 */
export function reduceTurns(state: TurnsState, events: readonly AppEvent[], now: () => number): TurnsState {
  let { turns, turnIds, pendingUserText, droppedTurn } = state;
  let changed = false;
  const current = (): TurnRecord | undefined => {
    const id = turnIds[turnIds.length - 1];
    return id === undefined || droppedTurn ? undefined : turns[id];
  };
  const update = (turn: TurnRecord, change: Partial<TurnRecord>) => {
    turns = { ...turns, [turn.id]: { ...turn, ...change } };
    changed = true;
  };
  /** The turn is over: it stays if it has words, and is removed otherwise (its id goes to the next). */
  const end = (turn: TurnRecord, change: Partial<TurnRecord>) => {
    if (hasWords(turn)) {
      update(turn, { ...change, done: true });
      return;
    }
    const { [turn.id]: _removed, ...rest } = turns;
    turns = rest;
    turnIds = turnIds.filter((id) => id !== turn.id);
    droppedTurn = true;
    changed = true;
  };
  for (const event of events) {
    switch (event.type) {
      case "engine": {
        // A turn cut short by an engine crash or failure is over; say so instead of waiting forever.
        const turn = current();
        if (turn && !turn.done && (event.engine.status === "crashed" || event.engine.status === "failed"))
          end(turn, { endReason: "engine stopped", speaking: null });
        break;
      }
      case "transcript": {
        const turn = current();
        if (turn && !turn.done)
          update(turn, { user: event.committed, userTentative: event.tentative, userFinal: event.final });
        break;
      }
      case "turn": {
        const e = event.event;
        if (e.type === "start") {
          const id = (turnIds[turnIds.length - 1] ?? 0) + 1;
          turns = { ...turns, [id]: newTurn(id, pendingUserText ?? "", now()) };
          turnIds = [...turnIds, id];
          pendingUserText = null;
          droppedTurn = false;
          changed = true;
          break;
        }
        const turn = current();
        if (!turn) break;
        if (e.type === "thought") {
          update(turn, {
            thoughts: turn.thoughts + e.text,
            timeline: { ...turn.timeline, thoughts: [...turn.timeline.thoughts, e.timeMs] },
          });
        } else if (e.type === "answer") {
          const answerTokens = turn.answerTokens.slice(0, e.index);
          answerTokens[e.index] = e.text;
          update(turn, {
            answerTokens,
            timeline: { ...turn.timeline, answers: [...turn.timeline.answers, e.timeMs] },
          });
        } else if (e.type === "truncate") {
          update(turn, {
            answerTokens: turn.answerTokens.slice(0, e.keptAnswerTokens),
            heardTokens: Math.min(turn.heardTokens, e.keptAnswerTokens),
            speaking: null,
          });
        } else if (e.type === "interjection") {
          update(turn, { interjections: [...turn.interjections, e.text] });
          // Typed words that went into the running turn do not start the next one.
          if (pendingUserText === e.text) pendingUserText = null;
        } else if (e.type === "input" && !turn.userFinal) {
          update(turn, { user: e.text, userFinal: e.final });
        } else if (e.type === "end") {
          end(turn, { endReason: e.reason });
        }
        break;
      }
      case "speaking": {
        const turn = current();
        if (turn) update(turn, { speaking: { from: event.chunk.startToken, to: event.chunk.endToken } });
        break;
      }
      case "chunk": {
        const turn = current();
        if (!turn) break;
        const start = event.chunk.playStartMs ?? null;
        const finished = turn.speaking !== null && turn.speaking.to <= event.chunk.endToken;
        update(turn, {
          heardTokens: Math.max(turn.heardTokens, event.chunk.endToken),
          ...(finished ? { speaking: null } : {}),
          timeline:
            start !== null && event.chunk.durationMs
              ? {
                  ...turn.timeline,
                  chunks: [...turn.timeline.chunks, { start, end: start + event.chunk.durationMs }],
                }
              : turn.timeline,
        });
        break;
      }
      case "audio-stop": {
        // The voice was cut off in the middle of a chunk.
        const turn = current();
        if (turn?.speaking) update(turn, { speaking: null, voiceStopped: true });
        break;
      }
      case "metrics": {
        const turn = current();
        if (turn)
          update(turn, {
            metrics: event.metrics,
            heardTokens: Math.max(turn.heardTokens, event.metrics.heardTokens),
            speaking: null,
          });
        break;
      }
      default:
        break;
    }
  }
  return changed || pendingUserText !== state.pendingUserText
    ? { turns, turnIds, pendingUserText, droppedTurn }
    : state;
}

/** The state with typed text expected to start the next turn. */
export function expectUserText(state: TurnsState, text: string): TurnsState {
  return { ...state, pendingUserText: text };
}

/** Turns in order. */
export function turnList(state: TurnsState): TurnRecord[] {
  return state.turnIds.map((id) => state.turns[id]!).filter((t) => t !== undefined);
}

/** A state holding these turns (a reopened conversation), numbered from 1. */
export function turnsFrom(records: readonly TurnRecord[]): TurnsState {
  const turns: Record<number, TurnRecord> = {};
  const turnIds: number[] = [];
  records.forEach((record, i) => {
    turns[i + 1] = { ...record, id: i + 1 };
    turnIds.push(i + 1);
  });
  return { turns, turnIds, pendingUserText: null, droppedTurn: false };
}
