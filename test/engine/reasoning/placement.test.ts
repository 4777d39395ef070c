/**
 * The engine on each placement strategy (docs/method.md, "Mirroring"; docs/native-build.md):
 * rotation on stock llama.cpp, decoding into gaps, and copying cells with Duet's own build. The
 * scripted runtime keeps positions as llama.cpp does and is given the patched build's operations;
 * every view is checked against its cells at every event.
 */
import { describe, expect, it } from "vitest";
import type { TurnEvent } from "../../../src/engine/reasoning/events.js";
import { expectConsistentViews, fakeEngine, repeat, runChecked } from "../../helpers/fakeEngine.js";

const PATCHED = { gapDecode: true, kvCopy: true };

const strategies = [
  ["rotate", {}],
  ["gap", { capabilities: PATCHED }],
  ["copy", { capabilities: PATCHED }],
] as const;

const thinker = [...repeat(" t", 30), "\n\n", ...repeat(" u", 30), "</think>"];
const writer = [...repeat(" w", 12), "\n\n", ...repeat(" v", 12), "<|im_end|>"];

describe.each(strategies)("placement by %s", (placement, backend) => {
  const engine = (options: Parameters<typeof fakeEngine>[2] = {}, streams = { thinker, writer }) =>
    fakeEngine(streams, ["yes"], { placement, thoughtSharing: "every-step", ...options }, backend);

  it("runs a turn with thoughts shared every step: lag 0, views exact at every event", async () => {
    const setup = engine();
    expect(setup.engine.placement).toBe(placement);
    const events = await runChecked(setup, setup.engine.ask("What is two plus two?"));
    const end = events.at(-1) as Extract<TurnEvent, { type: "end" }>;
    expect(end.metrics).toMatchObject({
      endReason: "end-of-turn",
      thinkerTokens: 53,
      writerTokens: 25,
      thoughtLagMax: 0,
    });
    if (placement === "copy") expect(setup.runtime.copies.length).toBeGreaterThan(0);
    else expect(setup.runtime.copies).toHaveLength(0);
    // Without rotation, a K-shift pass happens only when a gap fills (every 64 tokens), not every step.
    if (placement === "rotate") expect(end.metrics.shiftPasses).toBeGreaterThan(20);
    else expect(end.metrics.shiftPasses).toBeLessThanOrEqual(2);
  });

  it("copies what the stream computed, never tokens it has not decoded", async () => {
    const setup = engine();
    await runChecked(setup, setup.engine.ask("What is two plus two?"));
    for (const batch of setup.runtime.copies)
      for (const copy of batch) {
        expect(copy.from).not.toBe(copy.to);
        expect(copy.end).toBeGreaterThan(copy.start);
      }
  });

  it("listens: partial words grow and are revised in every view, then the turn runs", async () => {
    const setup = engine();
    const turn = setup.engine.startTurn({ text: "What is", inputOpen: true });
    const events = await runChecked(setup, turn, (event) => {
      if (event.type !== "thought") return;
      if (event.step === 3) turn.updateInput("What is two plus two");
      if (event.step === 6) turn.updateInput("What is two times two");
      if (event.step === 12) turn.closeInput("What is two times two?");
    });
    expect(events.at(-1)).toMatchObject({ type: "end", reason: "end-of-turn" });
    expect(setup.engine.history[0]!.user).toBe("What is two times two?");
  });

  it("takes a barge-in and an interjection, then goes on", async () => {
    const setup = engine();
    const turn = setup.engine.ask("Tell me a story");
    const events = await runChecked(setup, turn, (event) => {
      if (event.type === "answer" && event.index === 4) turn.truncateAnswer(2);
      if (event.type === "truncate") turn.interject("shorter please");
    });
    expect(events.some((e) => e.type === "interjection")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "end" });
  });

  it("keeps several turns in the history and drops the oldest when the context fills", async () => {
    const setup = engine({ contextSize: 420 }, { thinker: repeat(" t", 2000), writer: repeat(" w", 2000) });
    for (let i = 0; i < 4; i++) {
      const turn = setup.engine.ask(`Question number ${i}?`, { maxSteps: 60 });
      await runChecked(setup, turn);
      expectConsistentViews(setup);
    }
    expect(setup.engine.history.length).toBeGreaterThan(0);
    expect(setup.engine.history.length).toBeLessThan(4);
  });
});

describe("placement choice", () => {
  it("picks gaps where the runtime decodes into them, copies only on request, rotation otherwise", () => {
    expect(fakeEngine({}, ["yes"], {}, { capabilities: PATCHED }).engine.placement).toBe("gap");
    expect(fakeEngine({}, ["yes"], { placement: "copy" }, { capabilities: PATCHED }).engine.placement).toBe(
      "copy",
    );
    expect(
      fakeEngine({}, ["yes"], {}, { capabilities: { gapDecode: true, kvCopy: false } }).engine.placement,
    ).toBe("gap");
    expect(fakeEngine({}, ["yes"]).engine.placement).toBe("rotate");
  });

  it("shares thoughts every step by default where moves are cheap, and says so", () => {
    expect(fakeEngine({}, ["yes"], {}, { capabilities: PATCHED }).engine.options.thoughtSharing).toBe(
      "every step",
    );
    expect(fakeEngine({}, ["yes"]).engine.options.thoughtSharing).toMatch(/chunks/);
  });

  it("refuses a strategy the loaded llama.cpp cannot do, in words", () => {
    expect(() => fakeEngine({}, ["yes"], { placement: "copy" })).toThrow(/cannot decode into gaps/);
    expect(() =>
      fakeEngine({}, ["yes"], { placement: "copy" }, { capabilities: { gapDecode: true, kvCopy: false } }),
    ).toThrow(/cannot copy cells/);
    expect(() => fakeEngine({}, ["yes"], { placement: "sideways" as never })).toThrow(
      /Unknown placement "sideways"/,
    );
  });
});
