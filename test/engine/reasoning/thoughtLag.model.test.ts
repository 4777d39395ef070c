/**
 * Thought lag changes what the writer says, through real llama.cpp, on copy models
 * (docs/programmed-models.md) whose answer is a word they find in the thoughts.
 *
 * The script: the thinker's next-token table writes "\nMixing.\n\n blue with yellow gives green
 * indeed hmm hmm ..."; its paragraph end asks the probe (forced yes), which lets the writer start with
 * every thought so far in view. From there both streams decode every step: the writer's table
 * says "Let me see, so it yields", and after " yields" the copy decides: " green" when the writer's
 * view holds the thinker's " gives green" (written a few steps before), the table's " nothing"
 * otherwise. " green" and " nothing" end the writer's turn; the thinker, which may not end a turn,
 * goes on with " indeed" (its runner-up).
 */
import { afterAll, describe, expect, it } from "vitest";
import { type OpenReasoningEngineOptions, ReasoningEngine } from "../../../src/engine/reasoning/engine.js";
import type { TurnEvent } from "../../../src/engine/reasoning/events.js";
import type { TinyCopyRule } from "../../../src/engine/tiny-model/copyProgram.js";
import { chainRules } from "../../../src/engine/tiny-model/demoProgram.js";
import type { TinyProgram } from "../../../src/engine/tiny-model/tinyModel.js";
import { tinyModelPath } from "../../helpers/models.js";
import { patchedLlamaAvailability } from "../../helpers/patchedLlama.js";

const THOUGHTS = [
  "\n",
  "Mixing",
  ".\n\n",
  " blue",
  " with",
  " yellow",
  " gives",
  " green",
  " indeed",
  " hmm",
];
const ANSWER = ["\n\n", "Let", " me", " see", ",", " so", " it", " yields"];

const program = (copy: TinyCopyRule): TinyProgram => ({
  rules: [
    ...chainRules(THOUGHTS).filter(([from]) => from !== " green"),
    [
      " green",
      [
        ["<|im_end|>", 30],
        [" indeed", 20],
      ],
    ],
    [" hmm", " hmm"],
    ...chainRules(ANSWER),
    [" yields", " nothing"],
    [" nothing", "<|im_end|>"],
  ],
  copy,
});
/** Copies the value that followed " gives" (previous-token head + induction head). */
const INDUCTION = program({ query: " yields", marker: " gives", values: [" green", " red"] });
/** Copies the value token itself, wherever it is in view (one head that reads tokens only). */
const CONTENT = program({ query: " yields", values: [" green", " red"] });

const engines: ReasoningEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

interface Outcome {
  answer: string;
  lagMax: number;
  /** Step at which the thinker wrote " green", the writer " yields", and the probes. */
  greenThought: number;
  yields: number;
  probes: number[];
}

async function run(model: TinyProgram, options: Partial<OpenReasoningEngineOptions>): Promise<Outcome> {
  const engine = await ReasoningEngine.open({
    modelPath: await tinyModelPath({ program: model }),
    gpu: "cpu",
    contextSize: 1024,
    probe: "yes",
    maxSteps: 40,
    ...options,
  });
  engines.push(engine);
  const turn = engine.ask("What do blue and yellow make?");
  const result = await turn.done;
  expect(result.metrics.endReason).toBe("end-of-turn");
  const step = (type: "thought" | "answer", text: string): number =>
    turn.events.find((e: TurnEvent) => e.type === type && e.text === text)?.step ?? -1;
  return {
    answer: result.answer,
    lagMax: result.metrics.thoughtLagMax,
    greenThought: step("thought", " green"),
    yields: step("answer", " yields"),
    probes: turn.events.filter((e) => e.type === "probe").map((e) => e.step),
  };
}

describe("the writer's answer depends on the thoughts its view holds", () => {
  it("a writer that sees every thought at once says the word; one that lags says the default (content copy)", async () => {
    const everyStep = await run(CONTENT, { thoughtSharing: "every-step" });
    expect(everyStep.answer).toBe("Let me see, so it yields green");
    expect(everyStep.lagMax).toBe(0);

    const chunks = await run(CONTENT, { thoughtSharing: "chunks" });
    // Same script, same steps: the thinker wrote " green" before the writer asked...
    expect(chunks.greenThought).toBeGreaterThan(0);
    expect(chunks.greenThought).toBeLessThan(chunks.yields);
    expect(chunks.probes.filter((s) => s > 2 && s <= chunks.yields)).toEqual([]);
    // ...but it was still waiting for a chunk of 32, so the writer did not see it.
    expect(chunks.answer).toBe("Let me see, so it yields nothing");
    expect(chunks.lagMax).toBeGreaterThanOrEqual(chunks.yields - chunks.greenThought);
  });

  it("with an induction head: a writer lagging past the pair says the default, one synced at a probe says the word", async () => {
    const lagging = await run(INDUCTION, { thoughtSharing: "chunks" });
    expect(lagging.greenThought).toBeLessThan(lagging.yields);
    expect(lagging.answer).toBe("Let me see, so it yields nothing");
    expect(lagging.lagMax).toBeGreaterThan(0);

    // A probe after the pair brings every view up to date (docs/method.md, "The probe"); the pair
    // arrives in one piece and the writer copies from it.
    const synced = await run(INDUCTION, { thoughtSharing: "chunks", probeInterval: 9 });
    expect(synced.probes).toContain(9);
    expect(synced.greenThought).toBeLessThan(9);
    expect(synced.yields).toBe(9);
    expect(synced.answer).toBe("Let me see, so it yields green");
  });

  /**
   * On stock llama.cpp (rotation: docs/programmed-models.md, "What the copy model showed"),
   * sharing every step mirrors each thought alone, decoded at the end of the writer's view right
   * after the writer's newest token and then rotated into place. From the second layer on, the
   * thought's states are computed with that answer token as its neighbour, so " green" does not
   * know it followed " gives". Lag is 0, yet the writer misses the pair.
   */
  it("rotation: sharing every step gives lag 0, yet the induction head misses a pair mirrored a token at a time", async () => {
    const everyStep = await run(INDUCTION, { thoughtSharing: "every-step", placement: "rotate" });
    expect(everyStep.lagMax).toBe(0);
    expect(everyStep.greenThought).toBeLessThan(everyStep.yields);
    expect(everyStep.answer).toBe("Let me see, so it yields nothing");
  });

  /**
   * With Duet's own llama.cpp build the mirrored thoughts are not decoded next to the writer's
   * token: they are copied from the thinker's view (computed once, where they were written) or
   * decoded straight into their place. The pair keeps its neighbours, and the writer says the word.
   */
  const patched = patchedLlamaAvailability();
  for (const placement of ["copy", "gap"] as const) {
    it.skipIf(!patched.available && !patched.required)(
      `${placement}: sharing every step gives lag 0 and the induction head finds the pair (${patched.reason})`,
      async () => {
        expect(patched.available, patched.reason).toBe(true);
        // Named explicitly: the stock pass of CI (DUET_LLAMA_BINARY=stock) must not pick this test's binary.
        const everyStep = await run(INDUCTION, {
          thoughtSharing: "every-step",
          placement,
          binary: "patched",
        });
        expect(everyStep.lagMax).toBe(0);
        expect(everyStep.greenThought).toBeLessThan(everyStep.yields);
        expect(everyStep.answer).toBe("Let me see, so it yields green");
      },
    );
  }
});
