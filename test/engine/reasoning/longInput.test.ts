/**
 * Inputs of any length end in the clear "too long for the context" error, never an internal one
 * (a 200,000-character question used to overflow the stack while it was tokenized).
 */
import { afterAll, describe, expect, it } from "vitest";
import { ReasoningEngine } from "../../../src/engine/reasoning/engine.js";
import { DEMO_PROGRAM } from "../../../src/engine/tiny-model/demoProgram.js";
import { tinyModelPath } from "../../helpers/models.js";

const engines: ReasoningEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

async function demoEngine(): Promise<ReasoningEngine> {
  const engine = await ReasoningEngine.open({
    modelPath: await tinyModelPath({ program: DEMO_PROGRAM }),
    gpu: "cpu",
    contextSize: 2048,
  });
  engines.push(engine);
  return engine;
}

const TOO_LONG = /too long for the context: it takes \d+ tokens, and the model's context has room for \d+/;

describe("long input", () => {
  it("answers a 200,000-character question with the too-long error and keeps the conversation", async () => {
    const engine = await demoEngine();
    const first = await engine.ask("What is two plus two?").done;
    expect(first.metrics.endReason).toBe("end-of-turn");

    const long = "Why is the sky blue? ".repeat(10_000); // 210,000 characters
    const turn = engine.ask(long);
    const result = await turn.done;
    expect(result.metrics.endReason).toBe("error");
    expect(result.error).toEqual({ code: "context-overflow", message: expect.stringMatching(TOO_LONG) });
    expect(result.error!.message).toMatch(/^Your question is/);
    // The turn's events end with the same error; nothing was decoded for it.
    expect(turn.events.at(-1)).toMatchObject({ type: "end", reason: "error" });
    expect(turn.events.some((e) => e.type === "prefill")).toBe(false);

    // The earlier turn is still history, the long question did not become history, and the next turn works.
    expect(engine.history.map((h) => h.user)).toEqual(["What is two plus two?"]);
    const next = await engine.ask("And now?").done;
    expect(next.metrics.endReason).toBe("end-of-turn");
    expect(engine.history.map((h) => h.user)).toEqual(["What is two plus two?", "And now?"]);
  });

  it("says the same for words that grow too long while the user speaks, and for an interjection", async () => {
    const engine = await demoEngine();
    const spoken = engine.startTurn({ text: "What is", inputOpen: true });
    spoken.on((event) => {
      if (event.type === "thought" && event.index === 2) spoken.updateInput("What is ".repeat(30_000));
    });
    const spokenResult = await spoken.done;
    expect(spokenResult.error).toEqual({
      code: "context-overflow",
      message: expect.stringMatching(TOO_LONG),
    });

    const interjected = engine.ask("What is two plus two?");
    let sent = false;
    interjected.on((event) => {
      if (event.type === "answer" && !sent) {
        sent = true;
        interjected.interject("and also ".repeat(30_000));
      }
    });
    const interjectedResult = await interjected.done;
    expect(interjectedResult.error).toEqual({
      code: "context-overflow",
      message: expect.stringMatching(/^What you added is too long for the context/),
    });
    // The engine stays usable.
    expect((await engine.ask("Once more.").done).metrics.endReason).toBe("end-of-turn");
  });

  it("tokenizes user text of any length without spreading it onto the stack", async () => {
    const engine = await demoEngine();
    const text = "ab".repeat(250_000);
    expect(engine.tokenizeUserText(text).length).toBeGreaterThan(200_000);
  });
});
