/**
 * The engine end to end through real llama.cpp on generated models: the scripted demo model
 * (whose text is known) and random models (for robustness over many turns).
 */
import { afterAll, describe, expect, it } from "vitest";
import { isDuetError } from "../../../src/engine/errors.js";
import { ReasoningEngine } from "../../../src/engine/reasoning/engine.js";
import { detectPromptFamily } from "../../../src/engine/reasoning/promptFamily.js";
import { DEMO_ANSWER, DEMO_PROGRAM, DEMO_THOUGHTS } from "../../../src/engine/tiny-model/demoProgram.js";
import { tinyModelPath } from "../../helpers/models.js";

const engines: ReasoningEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

async function demoEngine(
  options: Parameters<typeof ReasoningEngine.open>[0] | object = {},
): Promise<ReasoningEngine> {
  const engine = await ReasoningEngine.open({
    modelPath: await tinyModelPath({ program: DEMO_PROGRAM }),
    gpu: "cpu",
    contextSize: 2048,
    ...options,
  });
  engines.push(engine);
  return engine;
}

const text = (words: readonly string[]) => words.filter((w) => !w.startsWith("<")).join("");

describe("asynchronous reasoning on the scripted demo model", () => {
  const expectedThoughts = text(DEMO_THOUGHTS.slice(1)); // without the starter "\n"
  const expectedAnswer = text(DEMO_ANSWER.slice(1)); // without the starter "\n\n"

  for (const layout of ["paper", "compact"] as const) {
    it(`thinks and speaks concurrently in the ${layout} layout`, async () => {
      const engine = await demoEngine({ layout });
      const turn = engine.ask("What is two plus two?");
      const result = await turn.done;
      expect(result.thoughts).toBe(expectedThoughts);
      expect(result.answer).toBe(expectedAnswer);
      expect(result.metrics.endReason).toBe("end-of-turn");
      // The writer started long before the thinker finished: both tracks interleave.
      const firstAnswer = turn.events.find((e) => e.type === "answer")!.step;
      const lastThought = turn.events.filter((e) => e.type === "thought").at(-1)!.step;
      expect(firstAnswer).toBeLessThan(lastThought);
      expect(turn.events.some((e) => e.type === "probe" && e.decision === "yes" && !e.forced)).toBe(true);
      // The writer paused at its paragraph end and resumed.
      expect(turn.events.some((e) => e.type === "state" && e.reason === "the writer ended a paragraph")).toBe(
        true,
      );
      expect(result.metrics.ttftMs).toBeGreaterThan(0);
      expect(result.answerTokens.map((t) => t.timeMs)).toEqual(
        [...result.answerTokens.map((t) => t.timeMs)].sort((a, b) => a - b),
      );
    });
  }

  it("runs both baselines through the same API", async () => {
    const engine = await demoEngine();
    const thinking = await engine.ask("What is two plus two?", { mode: "thinking" }).done;
    expect(thinking.thoughts).toBe(expectedThoughts);
    expect(thinking.answer).toBe(`\n\n${expectedAnswer}`);
    expect(thinking.metrics.stft).toBe(DEMO_THOUGHTS.length);
    const nothinking = await engine.ask("And now?", { mode: "nothinking" }).done;
    expect(nothinking.thoughts).toBe("");
    expect(nothinking.answer).toBe(expectedAnswer);
    expect(nothinking.metrics).toMatchObject({ stft: 1, stepsDelay: 1 });
    // Switching layouts between turns kept the conversation.
    expect(engine.history.map((h) => h.user)).toEqual(["What is two plus two?", "And now?"]);
    const asyncTurn = await engine.ask("Once more.").done;
    expect(asyncTurn.answer).toBe(expectedAnswer);
  });

  it("listens while the user speaks and takes an interjection during the answer", async () => {
    const engine = await demoEngine();
    const turn = engine.startTurn({ text: "What is", inputOpen: true });
    turn.on((event) => {
      if (event.type === "thought" && event.index === 2) turn.updateInput("What is two plus");
      if (event.type === "thought" && event.index === 5) turn.closeInput("What is two plus two?");
      if (event.type === "answer" && event.index === 3) {
        turn.truncateAnswer(2);
        turn.interject("in French please");
      }
    });
    const result = await turn.done;
    expect(
      turn.events.filter((e) => e.type === "input").map((e) => (e.type === "input" ? e.text : "")),
    ).toEqual(["What is two plus", "What is two plus two?"]);
    const interjection = turn.events.find((e) => e.type === "interjection");
    expect(interjection).toMatchObject({ keptAnswerTokens: 2 });
    expect(result.answer.startsWith("Let me")).toBe(true);
    expect(engine.history[0]!.user).toBe("What is two plus two?");
  });

  it("keeps a long conversation going in a small context, dropping the oldest turns", async () => {
    // The prompts take about 600 cells here (the tiny vocabulary spells most words letter by letter).
    const engine = await demoEngine({ contextSize: 700 });
    for (let i = 0; i < 8; i++) {
      const turn = engine.ask(`Question ${i}: what is two plus two?`);
      const result = await turn.done;
      expect(result.error, `turn ${i}`).toBeUndefined();
      expect(result.metrics.endReason).toBe("end-of-turn");
    }
    // Oldest turns were dropped (during a turn, reported as events, or when a turn became history).
    expect(engine.history.length).toBeLessThan(8);
    expect(engine.history.length).toBeGreaterThan(0);
    expect(engine.history.at(-1)!.user).toBe("Question 7: what is two plus two?");
  });

  it("says clearly when the context cannot even hold the prompts", async () => {
    const engine = await demoEngine({ contextSize: 256 });
    const result = await engine.ask("Hello?").done;
    expect(result.metrics.endReason).toBe("error");
    expect(result.error).toMatchObject({
      code: "context-overflow",
      message: expect.stringMatching(/too small/),
    });
  });

  it("cancels mid-turn and answers the next question normally", async () => {
    const engine = await demoEngine();
    const controller = new AbortController();
    const turn = engine.ask("first", { signal: controller.signal });
    turn.on((e) => {
      if (e.type === "thought" && e.index === 3) controller.abort();
    });
    expect((await turn.done).metrics.endReason).toBe("cancelled");
    expect((await engine.ask("second").done).answer).toBe(expectedAnswer);
  });
});

describe("random models: many turns with every feature, positions always consistent", () => {
  for (const model of [
    { arch: "qwen3" as const, layers: 2, heads: 4, kvHeads: 2, seed: 41 },
    { arch: "llama" as const, layers: 2, heads: 4, kvHeads: 1, seed: 42, type: "f16" as const },
  ]) {
    it(`${model.arch}: async turns, probes, listening, barge-in and history in a tight context`, async () => {
      const engine = await ReasoningEngine.open({
        modelPath: await tinyModelPath(model),
        gpu: "cpu",
        contextSize: 700,
        maxSteps: 120,
      });
      engines.push(engine);
      for (let i = 0; i < 5; i++) {
        const turn = engine.startTurn({ text: `Turn ${i}`, inputOpen: true });
        turn.on((e) => {
          if (e.type === "thought" && e.index === 4) turn.updateInput(`Turn ${i}, with more words`);
          if (e.type === "thought" && e.index === 8) turn.closeInput(`Turn ${i}, with more words.`);
          if (e.type === "answer" && e.index === 6 && i % 2 === 0) {
            turn.truncateAnswer(3);
            turn.interject("say it again");
          }
        });
        const result = await turn.done;
        expect(result.error).toBeUndefined();
        expect(["end-of-turn", "budget", "context-full"]).toContain(result.metrics.endReason);
      }
      // Both views survive every turn (the commit verifies they span exactly their blocks and rebuilds otherwise).
      const views = engine.inspectViews();
      expect(Object.keys(views).sort()).toEqual(["thinker", "writer"]);
      for (const [view, tokens] of Object.entries(views)) {
        expect(tokens.length, view).toBeGreaterThan(0);
      }
      engine.truncateLastAnswer(1);
      expect((await engine.ask("Final", { maxSteps: 10 }).done).error).toBeUndefined();
    });
  }
});

describe("prompt families", () => {
  it("detects Qwen3-style ChatML with thinking and refuses others clearly", async () => {
    expect(detectPromptFamily("<|im_start|>...<|im_end|>...<think>").id).toBe("qwen3");
    expect(() => detectPromptFamily(undefined, "m.gguf")).toThrow(/no chat template/);
    expect(() => detectPromptFamily("<|im_start|>user<|im_end|>", "m.gguf")).toThrow(/not a reasoning model/);
    expect(() => detectPromptFamily("[INST] {{ message }} [/INST]", "m.gguf")).toThrow(/does not recognise/);
    const error = await ReasoningEngine.open({
      modelPath: await tinyModelPath({
        chatTemplate: "{{ bos_token }}[INST] {{ content }} [/INST]",
        seed: 43,
      }),
      gpu: "cpu",
    }).catch((e: unknown) => e);
    expect(isDuetError(error, "unknown-prompt-family")).toBe(true);
  });
});
