import { describe, expect, it } from "vitest";
import type { AppEvent } from "../../src/shared/ipc/contract.js";
import type { VoiceTurnMetrics } from "../../src/shared/session.js";
import type { TurnEvent } from "../../src/shared/turnEvents.js";
import {
  currentTurn,
  emptyTurns,
  expectUserText,
  reduceTurns,
  turnList,
  turnsFrom,
} from "../../src/shared/turnRecord.js";

const at = { timeMs: 0, step: 0 };
const turn = (event: Record<string, unknown>): AppEvent => ({
  type: "turn",
  event: { ...at, ...event } as TurnEvent,
});
const start = turn({ type: "start", mode: "async", layout: "paper", turn: 1, thoughtSharing: "every step" });
const thought = (text: string, timeMs: number) => turn({ type: "thought", text, token: 0, index: 0, timeMs });
const answer = (text: string, index: number, timeMs = 10) =>
  turn({ type: "answer", text, token: 0, index, timeMs });
const chunk = (startToken: number, endToken: number, playStartMs: number, durationMs: number) => ({
  id: 0,
  text: "",
  spoken: "",
  startToken,
  endToken,
  writtenMs: 0,
  synthMs: 1,
  durationMs,
  readyMs: 0,
  playStartMs,
  playEndMs: playStartMs + durationMs,
});
const metrics = (heardTokens: number): VoiceTurnMetrics => ({
  releaseToFirstAudioMs: 300,
  sttMs: null,
  ttftMs: 200,
  stft: 3,
  stepsDelay: 4,
  totalDelay: 0.3,
  adjustedDelay: 0,
  heardSilence: 0.3,
  answerTokensPerSecond: 10,
  stepsPerSecond: 20,
  thinkerTokens: 2,
  writerTokens: 3,
  heardTokens,
  chunks: 1,
  thoughtLagMean: 0,
  thoughtLagMax: 0,
  endReason: "end-of-turn",
});
const apply = (events: AppEvent[], state = emptyTurns()) => reduceTurns(state, events, () => 1234);

describe("turn records from session events (the window's and the saved conversations' one reducer)", () => {
  it("builds a typed turn: the question, thoughts, answer, what is being said and heard, metrics", () => {
    let state = expectUserText(emptyTurns(), "What is two plus two?");
    state = apply(
      [start, thought("Okay", 5), thought(", adding", 9), answer("Let", 0), answer(" me", 1)],
      state,
    );
    const t = currentTurn(state)!;
    expect(t).toMatchObject({
      id: 1,
      user: "What is two plus two?",
      userFinal: true,
      thoughts: "Okay, adding",
      answerTokens: ["Let", " me"],
      startedAt: 1234,
      done: false,
    });
    expect(t.timeline.thoughts).toEqual([5, 9]);
    expect(state.pendingUserText).toBeNull();
    state = apply([{ type: "speaking", chunk: chunk(0, 2, 100, 500) }], state);
    expect(currentTurn(state)!.speaking).toEqual({ from: 0, to: 2 });
    state = apply([{ type: "chunk", chunk: chunk(0, 2, 100, 500) }], state);
    expect(currentTurn(state)).toMatchObject({ heardTokens: 2, speaking: null });
    expect(currentTurn(state)!.timeline.chunks).toEqual([{ start: 100, end: 600 }]);
    state = apply(
      [turn({ type: "end", reason: "end-of-turn", metrics: {} }), { type: "metrics", metrics: metrics(3) }],
      state,
    );
    expect(currentTurn(state)).toMatchObject({ done: true, endReason: "end-of-turn", heardTokens: 3 });
    expect(currentTurn(state)!.voiceStopped).toBe(false);
  });

  it("notes a voice cut off mid-chunk (Stop, or talking over it), and only then", () => {
    let state = apply([start, answer("a", 0), answer("b", 1)]);
    state = apply([{ type: "audio-stop" }], state);
    expect(currentTurn(state)!.voiceStopped).toBe(false);
    state = apply([{ type: "speaking", chunk: chunk(0, 2, 100, 500) }, { type: "audio-stop" }], state);
    expect(currentTurn(state)).toMatchObject({ voiceStopped: true, speaking: null });
  });

  it("keeps only the heard part after a barge-in, and typed words that went into the turn do not start the next one", () => {
    let state = apply(
      [start, answer("a", 0), answer("b", 1), answer("c", 2)],
      expectUserText(emptyTurns(), "Q"),
    );
    state = expectUserText(state, "and also this");
    state = apply(
      [
        turn({ type: "truncate", keptAnswerTokens: 1, droppedAnswerTokens: 2 }),
        turn({ type: "interjection", text: "and also this", keptAnswerTokens: 1, droppedAnswerTokens: 2 }),
      ],
      state,
    );
    expect(currentTurn(state)).toMatchObject({ answerTokens: ["a"], interjections: ["and also this"] });
    expect(state.pendingUserText).toBeNull();
    state = apply([start], state);
    expect(currentTurn(state)).toMatchObject({ id: 2, user: "", userFinal: false });
  });

  it("fills a spoken question from the transcript, and ends a turn the engine crash cut short", () => {
    let state = apply([start, { type: "transcript", committed: "what is", tentative: "two", final: false }]);
    expect(currentTurn(state)).toMatchObject({ user: "what is", userTentative: "two", userFinal: false });
    state = apply([{ type: "engine", engine: { status: "crashed", message: "x", restartInMs: 500 } }], state);
    expect(currentTurn(state)).toMatchObject({ done: true, endReason: "engine stopped" });
  });

  it("removes a turn that ended without a word, and the turn after it takes its place, intact", () => {
    const spoken = { type: "transcript", committed: "two plus two", tentative: "", final: true } as const;
    let state = apply([start, spoken, answer("Four", 0), turn({ type: "end", reason: "end-of-turn" })]);
    // The next answer was written but not all heard, so it never got its metrics.
    state = apply([start, { type: "transcript", committed: "and", tentative: "", final: false }], state);
    state = apply([answer("And", 0), turn({ type: "end", reason: "end-of-turn" })], state);
    const kept = turnList(state);
    // A tap on push-to-talk: nothing heard, the turn ends at once; its metrics come after its end.
    state = apply(
      [
        start,
        { type: "transcript", committed: "", tentative: "", final: true },
        turn({ type: "end", reason: "cancelled" }),
        { type: "metrics", metrics: metrics(0) },
      ],
      state,
    );
    expect(turnList(state)).toEqual(kept);
    expect(state.turnIds).toEqual([1, 2]);
    expect(state.turns[3]).toBeUndefined();
    // Nothing for the removed turn lands on the one before it (which has no metrics of its own).
    expect(state.turns[2]!.metrics).toBeNull();
    state = apply(
      [{ type: "audio-stop" }, { type: "transcript", committed: "x", tentative: "", final: false }],
      state,
    );
    expect(turnList(state)).toEqual(kept);

    state = apply(
      [start, { type: "transcript", committed: "three", tentative: "", final: true }, thought("Hmm", 3)],
      state,
    );
    state = apply([answer("Three", 0), turn({ type: "end", reason: "end-of-turn" })], state);
    state = apply([{ type: "metrics", metrics: metrics(1) }], state);
    expect(state.turnIds).toEqual([1, 2, 3]);
    expect(currentTurn(state)).toMatchObject({
      id: 3,
      user: "three",
      thoughts: "Hmm",
      answerTokens: ["Three"],
      done: true,
      endReason: "end-of-turn",
      metrics: metrics(1),
    });
  });

  it("keeps a turn that has words of any kind when it ends, and removes a silent one an engine crash ended", () => {
    const ended = turn({ type: "end", reason: "cancelled" });
    const typed = apply([start, ended], expectUserText(emptyTurns(), "Q"));
    const thinking = apply([start, thought("Hmm", 1), ended]);
    const interjected = apply([
      start,
      turn({ type: "interjection", text: "wait", keptAnswerTokens: 0, droppedAnswerTokens: 0 }),
      ended,
    ]);
    for (const state of [typed, thinking, interjected]) expect(turnList(state)).toHaveLength(1);
    const crashed = apply([
      start,
      { type: "engine", engine: { status: "crashed", message: "x", restartInMs: 500 } },
    ]);
    expect(turnList(crashed)).toEqual([]);
    // Blank words are no words.
    expect(
      turnList(apply([start, { type: "transcript", committed: " ", tentative: "", final: true }, ended])),
    ).toEqual([]);
  });

  it("returns the same state when nothing concerns the turns, so a store can skip the update", () => {
    const state = apply([start]);
    expect(
      apply(
        [
          { type: "state", state: "thinking" },
          { type: "hotkey", down: true },
        ],
        state,
      ),
    ).toBe(state);
  });

  it("renumbers restored turns from 1", () => {
    const turns = turnList(apply([start, start, start]));
    const restored = turnsFrom(turns.slice(1));
    expect(restored.turnIds).toEqual([1, 2]);
    expect(turnList(restored).map((t) => t.id)).toEqual([1, 2]);
  });
});
