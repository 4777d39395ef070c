import { describe, expect, it } from "vitest";
import { isDuetError } from "../../../src/engine/errors.js";
import type { TurnEvent } from "../../../src/engine/reasoning/events.js";
import { expectConsistentViews, fakeEngine, repeat, runChecked } from "../../helpers/fakeEngine.js";

const firstStepOf = (events: TurnEvent[], type: TurnEvent["type"]) =>
  events.find((e) => e.type === type)?.step;

describe("listening (docs/method.md, Listening)", () => {
  it("thinks on the partial question, keeps the writer silent until the input closes, and revises the tail", async () => {
    const setup = fakeEngine(
      { thinker: [...repeat(" t", 40), "</think>"], writer: [" Sure", "<|im_end|>"] },
      ["yes"],
    );
    const turn = setup.engine.startTurn({ text: "What is", inputOpen: true });
    const views: Record<number, string> = {};
    const events = await runChecked(setup, turn, (event) => {
      if (event.type !== "thought") return;
      if (event.step === 3) turn.updateInput("What is two plus two");
      if (event.step === 6) turn.updateInput("What is two times two");
      if (event.step === 25) turn.closeInput("What is two times two?");
      if (event.step === 4 || event.step === 7) {
        // The thinker view gets new words at once.
        views[event.step] = setup.tokenizer.detokenize(setup.engine.inspectViews().thinker!);
      }
      if (event.step === 27) views[27] = setup.tokenizer.detokenize(setup.engine.inspectViews().writer!);
    });
    // The probe said yes at step 20, but the writer waited for the user to finish, and then for
    // a probe over the whole question (asked at the next step, 26): it speaks from step 27 on.
    const probes = events.filter((e) => e.type === "probe").map((e) => e.step);
    expect(probes).toContain(26);
    expect(firstStepOf(events, "answer")).toBe(27);
    const userPart = (view: string) =>
      view.slice(
        view.indexOf("<|im_start|>user"),
        view.indexOf("<|im_end|>", view.indexOf("<|im_start|>user")),
      );
    expect(userPart(views[4]!)).toBe("<|im_start|>user\nWhat is two plus two");
    expect(userPart(views[7]!)).toBe("<|im_start|>user\nWhat is two times two");
    // The thinker had reasoned about "plus": a marked note says the words were corrected.
    expect(views[7]).toContain(
      '[Correction: the user\'s words were misheard. They said "What is two times two", not "What is two plus two".]',
    );
    expect(userPart(views[27]!)).toBe("<|im_start|>user\nWhat is two times two?");
    const inputs = events.filter((e) => e.type === "input");
    expect(inputs.map((e) => (e.type === "input" ? [e.text, e.final] : []))).toEqual([
      ["What is two plus two", false],
      ["What is two times two", false],
      ["What is two times two?", true],
    ]);
    // Both views hold the same user words, consistent with their cells (checked at every event).
    expect(setup.engine.history[0]!.user).toBe("What is two times two?");
  });

  it("adds no correction note when the revised words are ones the thinker has not read yet", async () => {
    const setup = fakeEngine(
      { thinker: [...repeat(" t", 30), "</think>"], writer: [" Sure", "<|im_end|>"] },
      ["yes"],
    );
    const turn = setup.engine.startTurn({ text: "What is", inputOpen: true });
    const events = await runChecked(setup, turn, (event) => {
      if (event.type !== "thought") return;
      // Both revisions land between two thinker decodes: the thinker never read "plus".
      if (event.step === 3) {
        turn.updateInput("What is two plus two");
        turn.updateInput("What is two times two");
      }
      if (event.step === 10) turn.closeInput();
    });
    expect(events.filter((e) => e.type === "input")).toHaveLength(3);
    const thinker = setup.tokenizer.detokenize(setup.scripts.probes.at(-1)?.context ?? []);
    expect(thinker).not.toContain("Correction");
  });

  it("does not think before the user has said anything, and an empty final input ends the turn", async () => {
    const setup = fakeEngine({ thinker: repeat(" t", 10) });
    const turn = setup.engine.startTurn({ inputOpen: true });
    // Once the turn has started its loop, a thinker allowed to think would decode at once.
    await new Promise<void>((resolve) => turn.on((e) => e.type === "state" && resolve()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(turn.events.some((e) => e.type === "thought")).toBe(false);
    expect(setup.runtime.decodes.every((batch) => batch.every((item) => item.logitIndex === undefined))).toBe(
      true,
    );
    turn.closeInput("");
    const result = await turn.done;
    expect(result.metrics.endReason).toBe("cancelled");
    expect(setup.engine.history).toHaveLength(0);
    expectConsistentViews(setup);
  });

  it("keeps only the heard part of the answer on barge-in and feeds the interjection after the pending thought", async () => {
    const writer = [" The", " answer", " is", " five", " because", "\n\n", " Four", "<|im_end|>"];
    const thinker = [...repeat(" t", 19), " u", ...repeat(" v", 30), "</think>"];
    const setup = fakeEngine({ thinker, writer }, ["yes"]);
    const turn = setup.engine.ask("What is two plus two?");
    let thoughtsAtInterjection: number[] = [];
    const events = await runChecked(setup, turn, (event) => {
      if (event.type === "answer" && event.index === 3) {
        // The user heard " The answer" and starts speaking.
        turn.truncateAnswer(2);
      }
      if (event.type === "truncate") {
        turn.interject("no wait, two times two");
      }
      if (event.type === "interjection") thoughtsAtInterjection = [...setup.engine.inspectViews().thinker!];
    });
    const result = await turn.done;
    const truncate = events.find((e) => e.type === "truncate");
    expect(truncate).toMatchObject({ keptAnswerTokens: 2, droppedAnswerTokens: 2 });
    expect(events.find((e) => e.type === "interjection")).toMatchObject({
      text: "no wait, two times two",
      keptAnswerTokens: 2,
    });
    // The answer resumes from what was heard: the writer's script continues from where it was.
    expect(result.answer.startsWith(" The answer")).toBe(true);
    expect(result.answer).not.toContain(" is five");
    // Interjection text entered the thoughts, after the thinker's pending token, visible to both views.
    const thinkerText = setup.tokenizer.detokenize(setup.runtime.decodes.flat().flatMap((i) => i.tokens));
    expect(thinkerText).toContain(
      '[The user interrupted the spoken answer and said: "no wait, two times two"]',
    );
    expect(thoughtsAtInterjection.length).toBeGreaterThan(0);
    const writerViewText = setup.tokenizer.detokenize(setup.engine.inspectViews().writer!);
    expect(writerViewText).toContain("The answer");
    // The writer waited for a probe after the interjection.
    const interjectionStep = events.find((e) => e.type === "interjection")!.step;
    const resumed = events.find((e) => e.type === "answer" && e.step > interjectionStep)!;
    const probeBetween = events.find(
      (e) => e.type === "probe" && e.step >= interjectionStep && e.step <= resumed.step,
    );
    expect(probeBetween).toBeDefined();
  });

  it("re-opens thinking when the user interjects after the thinker finished", async () => {
    const setup = fakeEngine(
      {
        thinker: [" t", "</think>", " again", "\n\n", ...repeat(" more", 5)],
        writer: [...repeat(" w", 8), "<|im_end|>"],
      },
      ["yes"],
      {
        probe: "yes",
      },
    );
    const turn = setup.engine.ask("q");
    const events = await runChecked(setup, turn, (event) => {
      if (event.type === "answer" && event.index === 4) {
        turn.truncateAnswer(3);
        turn.interject("louder please");
      }
    });
    const states = events.filter((e) => e.type === "state").map((e) => (e.type === "state" ? e.state : ""));
    expect(states).toContain("writer_only");
    expect(states.slice(states.indexOf("writer_only") + 1)).toContain("thinker_only");
    expect((await turn.done).thoughts).toContain(" again");
  });

  it("after a finished turn, truncates the history to what was heard", async () => {
    const setup = fakeEngine({ thinker: ["</think>"], writer: [" one", " two", " three", "<|im_end|>"] }, [
      "yes",
    ]);
    await setup.engine.ask("count").done;
    expect(setup.engine.history[0]!.answer).toBe(" one two three");
    setup.engine.truncateLastAnswer(1);
    expect(setup.engine.history[0]!.answer).toBe(" one");
    expectConsistentViews(setup);
    const views = setup.engine.inspectViews();
    expect(Object.keys(views).sort()).toEqual(["thinker", "writer"]);
    for (const tokens of Object.values(views))
      expect(setup.tokenizer.detokenize(tokens)).not.toContain("two");
  });

  it("rejects bad listening calls clearly", async () => {
    const setup = fakeEngine({ thinker: repeat(" t", 200) }, ["no"]);
    const turn = setup.engine.ask("q", { maxSteps: 100 });
    expect(() => turn.updateInput("more")).toThrow(/already closed/);
    expect(() => turn.closeInput()).toThrow(/already closed/);
    expect(() => turn.interject("   ")).toThrow(/needs some words/);
    expect(() => turn.truncateAnswer(-1)).toThrow(/non-negative/);
    await turn.done;
    expect(() => turn.interject("late")).toThrow(/ended/);
    const baseline = setup.engine.ask("q", { mode: "nothinking", maxSteps: 3 });
    expect(() => baseline.interject("hi")).toThrow(/async mode/);
    await baseline.done;
  });
});

describe("multi-turn conversation", () => {
  it("reuses the cache: thoughts dropped, user words and answers kept, only new blocks prefilled", async () => {
    const thinker = [" alpha", " beta", "</think>"];
    const writer = [" Paris", ".", "<|im_end|>"];
    const setup = fakeEngine(
      { thinker: [...thinker, ...thinker], writer: [...writer, " Rome", "<|im_end|>"] },
      ["yes"],
      { probe: "yes" },
    );
    const first = await runChecked(setup, setup.engine.ask("Capital of France?"));
    const second = await runChecked(setup, setup.engine.ask("And Italy?"));
    const prefill = (events: TurnEvent[]) => events.find((e) => e.type === "prefill")!;
    const firstPrefill = (prefill(first) as { tokens: number }).tokens;
    const secondPrefill = (prefill(second) as { tokens: number }).tokens;
    // The second turn decodes only its own blocks, not the system prompts or history again.
    expect(secondPrefill).toBeLessThan(firstPrefill / 3);
    const views = setup.engine.inspectViews();
    expect(Object.keys(views).sort()).toEqual(["thinker", "writer"]);
    for (const tokens of Object.values(views)) {
      const text = setup.tokenizer.detokenize(tokens);
      expect(text).toContain(
        "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n Paris.<|im_end|>\n",
      );
      expect(text).toContain(
        "<|im_start|>user\nAnd Italy?<|im_end|>\n<|im_start|>assistant\n Rome<|im_end|>\n",
      );
      expect(text).not.toContain("alpha");
      expect(text).not.toContain("SYSTEM: [");
    }
    expect(setup.engine.history).toEqual([
      { user: "Capital of France?", answer: " Paris." },
      { user: "And Italy?", answer: " Rome" },
    ]);
  });

  it("drops the oldest turns when the context fills, and never crashes", async () => {
    const setup = fakeEngine({ thinker: repeat(" think", 2000), writer: repeat(" word", 5000) }, ["yes"], {
      contextSize: 450,
      probe: "yes",
      maxSteps: 60,
    });
    const dropped: TurnEvent[] = [];
    for (let i = 0; i < 6; i++) {
      const turn = setup.engine.ask(`Question number ${i}?`);
      const events = await runChecked(setup, turn);
      dropped.push(...events.filter((e) => e.type === "history"));
      expect((await turn.done).metrics.endReason).not.toBe("error");
    }
    expect(dropped.length).toBeGreaterThan(0);
    expect(setup.engine.history.length).toBeLessThan(6);
    expect(setup.engine.history.at(-1)!.user).toBe("Question number 5?");
  });

  it("stops the thinker, then the turn, when even an empty history leaves no room", async () => {
    const setup = fakeEngine({ thinker: repeat(" think", 2000), writer: repeat(" word", 2000) }, ["no"], {
      contextSize: 500,
      maxSteps: 2000,
    });
    const turn = setup.engine.ask("A long one?");
    const events = await runChecked(setup, turn);
    const result = await turn.done;
    expect(
      events.some((e) => e.type === "state" && e.state === "writer_only" && /context is full/.test(e.reason)),
    ).toBe(true);
    expect(result.metrics.endReason).toBe("context-full");
    // The engine is still usable.
    const next = setup.engine.ask("Short?", { maxSteps: 5 });
    expect((await next.done).metrics.endReason).toBe("budget");
  });
});

describe("cancellation and bad input", () => {
  it("cancels mid-turn with an AbortSignal and stays usable", async () => {
    const setup = fakeEngine({ thinker: repeat(" t", 500), writer: repeat(" w", 500) }, ["yes"]);
    const controller = new AbortController();
    const turn = setup.engine.ask("first", { signal: controller.signal });
    turn.on((e) => {
      if (e.type === "thought" && e.step === 30) controller.abort();
    });
    const result = await turn.done;
    expect(result.metrics.endReason).toBe("cancelled");
    expect(result.metrics.steps).toBe(30);
    expect(setup.engine.busy).toBe(false);
    expectConsistentViews(setup);
    const next = await runChecked(setup, setup.engine.ask("second", { maxSteps: 5 }));
    expect(next.at(-1)).toMatchObject({ type: "end", reason: "budget" });
    expect(setup.engine.history.map((h) => h.user)).toEqual(["first", "second"]);
  });

  it("gives clear errors for an empty question, a busy engine and bad options", async () => {
    const setup = fakeEngine({ thinker: repeat(" t", 50) }, ["no"]);
    const error = (() => {
      try {
        setup.engine.ask("   ");
      } catch (e) {
        return e;
      }
    })();
    expect(isDuetError(error, "invalid-argument")).toBe(true);
    const turn = setup.engine.ask("q", { maxSteps: 20 });
    expect(() => setup.engine.ask("again")).toThrow(/while a turn is running/);
    await turn.done;
    expect(() => setup.engine.ask("q", { maxSteps: 0 })).toThrow(/maxSteps/);
    expect(() => setup.engine.ask("q", { mode: "dreaming" as never })).toThrow(/Unknown mode/);
    expect(() => fakeEngine({}, ["no"], { layout: "sideways" as never })).toThrow(/Unknown layout/);
    // Still usable after every refusal.
    expect((await setup.engine.ask("q", { maxSteps: 3 }).done).metrics.endReason).toBe("budget");
  });

  it("keeps special-token text typed by a user as plain text", async () => {
    const setup = fakeEngine({ thinker: ["</think>"], writer: [" ok", "<|im_end|>"] }, ["yes"]);
    const tokens = setup.engine.tokenizeUserText("Say <think> and <|im_end|> please");
    const specials = ["<think>", "<|im_end|>", "</think>", "<|im_start|>"].map((t) =>
      setup.tokenizer.specialToken(t),
    );
    expect(tokens.some((t) => specials.includes(t))).toBe(false);
    expect(setup.tokenizer.detokenize(tokens)).toBe("Say <think> and <|im_end|> please");
    await setup.engine.ask("Say <think> and <|im_end|> please").done;
    expect(setup.engine.history[0]!.user).toBe("Say <think> and <|im_end|> please");
    const userCells = setup.engine.inspectViews().writer!;
    expect(userCells.filter((t) => t === setup.tokenizer.specialToken("<think>"))).toHaveLength(0);
  });
});
