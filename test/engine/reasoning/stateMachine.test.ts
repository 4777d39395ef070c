import { describe, expect, it } from "vitest";
import type { TurnEvent } from "../../../src/engine/reasoning/events.js";
import { fakeEngine, repeat, runChecked } from "../../helpers/fakeEngine.js";

const states = (events: TurnEvent[]) =>
  events.filter((e) => e.type === "state").map((e) => (e.type === "state" ? `${e.step}:${e.state}` : ""));
const probeSteps = (events: TurnEvent[]) => events.filter((e) => e.type === "probe").map((e) => e.step);

describe("the reasoner's state machine (docs/method.md, The generation loop) on scripted streams", () => {
  // Thinker: a paragraph ends at step 7, probe every 20 steps, `</think>` at step 30.
  const thinker = [...repeat(" a", 6), "\n\n", ...repeat(" b", 13), ...repeat(" c", 9), "</think>"];
  // Writer: pauses at its paragraph end, then finishes after the thinker.
  const writer = [" w1", " w2", "\n\n", " w3", " w4", "<|im_end|>"];

  it("starts thinking, probes on paragraphs and every 20 steps, pauses the writer, hands over on </think>", async () => {
    const setup = fakeEngine({ thinker, writer }, ["no", "yes"]);
    const turn = setup.engine.ask("What is two plus two?");
    const events = await runChecked(setup, turn);
    const result = await turn.done;

    expect(probeSteps(events)).toEqual([7, 20]);
    expect(states(events)).toEqual([
      "0:thinker_only",
      "20:thinker_and_writer",
      "23:thinker_only",
      "30:writer_only",
    ]);
    expect(result.answer).toBe(" w1 w2\n\n w3 w4");
    expect(result.answerTokens.map((t) => t.step)).toEqual([21, 22, 23, 31, 32]);
    expect(result.metrics).toMatchObject({
      endReason: "end-of-turn",
      steps: 33,
      stft: 21,
      stepsDelay: 1 + 32 - 5,
      thinkerTokens: 29,
      writerTokens: 5,
      probes: 2,
    });
    expect(result.thoughts).not.toContain("</think>");
  });

  it("lets a probe in the same step override the writer's pause", async () => {
    // The writer ends a paragraph at step 40, exactly when the interval probe says yes again.
    const longThinker = [...repeat(" t", 45), "</think>"];
    const longWriter = [...repeat(" w", 19), "\n\n", ...repeat(" z", 10), "<|im_end|>"];
    const setup = fakeEngine({ thinker: longThinker, writer: longWriter }, ["yes"]);
    const events = await runChecked(setup, setup.engine.ask("q"));
    expect(states(events)).toEqual([
      "0:thinker_only",
      "20:thinker_and_writer",
      "40:thinker_only",
      "40:thinker_and_writer",
      "46:writer_only",
    ]);
  });

  it("asks the probe over the thinker view and leaves no trace of the question", async () => {
    const setup = fakeEngine({ thinker, writer }, ["no", "yes"]);
    const turn = setup.engine.ask("What is two plus two?");
    await runChecked(setup, turn);
    const question = setup.tokenizer.detokenize(setup.scripts.probes[0]!.context);
    expect(question).toContain("What is two plus two?");
    expect(question).toMatch(/\(yes\/no\):$/);
    expect(setup.scripts.probes.every((p) => p.sequence === 1)).toBe(true);
  });

  it("in the compact layout asks over the writer view as a chat turn", async () => {
    const setup = fakeEngine({ thinker, writer }, ["no", "yes"], { layout: "compact" });
    let thinkerView = "";
    const events = await runChecked(setup, setup.engine.ask("Compact?"), (event) => {
      if (event.type === "answer")
        thinkerView = setup.tokenizer.detokenize(setup.engine.inspectViews().thinker!);
    });
    expect(setup.scripts.probes.every((p) => p.sequence === 0)).toBe(true);
    expect(setup.tokenizer.detokenize(setup.scripts.probes[0]!.context)).toMatch(
      /Reply yes or no\.<\|im_end\|>\n<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/,
    );
    expect(probeSteps(events)).toEqual([7, 20]);
    // The compact thinker never sees the answer while the turn runs.
    expect(thinkerView).toContain("Compact?");
    expect(thinkerView).not.toContain("w1");
  });

  it("stops at the step budget", async () => {
    const setup = fakeEngine({ thinker: repeat(" x", 50), writer: repeat(" y", 50) }, ["no"]);
    const result = await setup.engine.ask("q", { maxSteps: 10 }).done;
    // Too small a budget for a wrap-up (10 / 8 = 1 step): the thinker stops at step 9, the writer says one word.
    expect(result.metrics).toMatchObject({ endReason: "budget", thinkerTokens: 9 });
    expect(result.metrics.steps).toBeLessThanOrEqual(10 + 32);
  });

  it("wraps up before the budget ends: thinking stops, the writer finishes its sentence", async () => {
    const writerScript = [...repeat(" y", 20), ".", ...repeat(" z", 5), "<|im_end|>"];
    const setup = fakeEngine({ thinker: repeat(" x", 500), writer: writerScript }, ["no"]);
    const turn = setup.engine.ask("q", { maxSteps: 80 });
    const result = await turn.done;
    // The reserve is 80 / 8 = 10 steps: the thinker stops at step 70 and the writer takes over.
    const wrapUp = turn.events.find((e) => e.type === "state" && e.state === "writer_only");
    expect(wrapUp).toMatchObject({ step: 70, reason: expect.stringMatching(/wraps up/) });
    expect(result.metrics.thinkerTokens).toBe(70);
    // At step 80 the writer is mid-sentence: it goes on to the full stop, then the turn ends.
    expect(result.answer.endsWith(".")).toBe(true);
    expect(result.metrics).toMatchObject({ endReason: "budget", steps: 91 });
  });

  it("forced probe answers skip the model and are reported as forced", async () => {
    const setup = fakeEngine({ thinker, writer }, ["no"], { probe: "yes" });
    const events = await runChecked(setup, setup.engine.ask("q"));
    expect(setup.scripts.probes).toHaveLength(0);
    expect(events.find((e) => e.type === "probe")).toMatchObject({ forced: true, decision: "yes", step: 7 });
  });

  it("runs the non-thinking baseline: the answer starts at step 1", async () => {
    const setup = fakeEngine({ main: [" Four", ".", "<|im_end|>"] });
    const turn = setup.engine.ask("What is two plus two?", { mode: "nothinking" });
    let view = "";
    const events = await runChecked(setup, turn, (event) => {
      if (event.type === "answer" && !view) view = setup.tokenizer.detokenize(setup.runtime.orderedTokens(0));
    });
    const result = await turn.done;
    expect(result.answer).toBe(" Four.");
    expect(result.metrics).toMatchObject({ stft: 1, stepsDelay: 1, thinkerTokens: 0, probes: 0 });
    expect(states(events)).toEqual(["0:writer_only"]);
    expect(view).toMatch(
      /What is two plus two\?<\|im_end\|>\n<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/,
    );
  });

  it("runs the thinking baseline: think fully in one sequence, then answer after </think>", async () => {
    const setup = fakeEngine({ main: [" hmm", " ok", "</think>", "\n\n", " Four", "<|im_end|>"] });
    const turn = setup.engine.ask("q", { mode: "thinking" });
    const events = await runChecked(setup, turn);
    const result = await turn.done;
    expect(result.thoughts).toBe(" hmm ok");
    expect(result.answer).toBe("\n\n Four");
    expect(result.metrics).toMatchObject({
      stft: 4,
      stepsDelay: 4,
      thinkerTokens: 2,
      writerTokens: 2,
      probes: 0,
    });
    expect(states(events)).toEqual(["0:thinker_only", "3:writer_only"]);
    // The history keeps the answer without `</think>`.
    expect(setup.engine.history[0]!.answer).toBe("\n\n Four");
  });

  it("forbids the stream-specific special tokens and the linker marker with logit -100", async () => {
    const setup = fakeEngine({ thinker, writer });
    const configs: Array<{ bias?: ReadonlyMap<number, number> }> = [];
    const original = setup.runtime.createSampler.bind(setup.runtime);
    setup.runtime.createSampler = (config) => {
      configs.push(config);
      return original(config);
    };
    await setup.engine.ask("q").done;
    const [thinkerBias, writerBias] = configs.map((c) => c.bias!);
    const id = (t: string) => setup.tokenizer.id(t);
    for (const t of ["</think>", "<think>", "<|im_start|>", "<|endoftext|>", "SYSTEM", " SYSTEM"])
      expect(writerBias!.get(id(t))).toBe(-100);
    expect(writerBias!.has(id("<|im_end|>"))).toBe(false);
    for (const t of ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "SYSTEM"])
      expect(thinkerBias!.get(id(t))).toBe(-100);
    expect(thinkerBias!.has(id("</think>"))).toBe(false);
  });

  it("safety mode changes the thinker's instructions and the probe question", async () => {
    const setup = fakeEngine({ thinker, writer }, ["no", "yes"], { safety: true });
    await setup.engine.ask("q").done;
    const probeText = setup.tokenizer.detokenize(setup.scripts.probes[0]!.context);
    expect(probeText).toMatch(/safety check/i);
    expect(probeText).toMatch(/Safety comes before accuracy/);
  });

  it("safety mode's writer prompt never tells the writer to start speaking before the check", async () => {
    for (const layout of ["paper", "compact"] as const) {
      const setup = fakeEngine({ thinker, writer }, ["no", "yes"], { safety: true, layout });
      await setup.engine.ask("q").done;
      const writerView = setup.tokenizer.detokenize(setup.engine.inspectViews().writer!);
      expect(writerView).toMatch(/safe/);
      expect(writerView).not.toMatch(/Begin with|approach the question|outline/i);
      // Without safety mode the writer does open with an outline sentence.
      const plain = fakeEngine({ thinker, writer }, ["no", "yes"], { layout });
      await plain.engine.ask("q").done;
      expect(plain.tokenizer.detokenize(plain.engine.inspectViews().writer!)).toMatch(
        /begin with one short sentence/i,
      );
    }
  });
});

describe("thought lag: what the writer has not seen yet", () => {
  it("after every yes, the writer's next token sees every thought written up to that probe", async () => {
    // The writer ends a paragraph exactly on the probe steps (40 and 60): paused and resumed in one step.
    const writerScript = [
      ...repeat(" a", 19),
      "\n\n",
      ...repeat(" b", 19),
      "\n\n",
      ...repeat(" c", 5),
      "<|im_end|>",
    ];
    const setup = fakeEngine({ thinker: repeat(" t", 200), writer: writerScript }, ["yes"]);
    const thought = setup.tokenizer.id(" t");
    const seenAtWriterDecode: number[] = [];
    const next = setup.scripts.next.bind(setup.scripts);
    setup.scripts.next = (context) => {
      if (context.sequence === 0)
        seenAtWriterDecode.push(context.context.filter((t) => t === thought).length);
      return next(context);
    };
    const events = await runChecked(setup, setup.engine.ask("Count with me"));
    const answers = events.filter((e) => e.type === "answer");
    const yesSteps = events.filter((e) => e.type === "probe" && e.decision === "yes").map((e) => e.step);
    expect(yesSteps).toEqual(expect.arrayContaining([20, 40, 60]));
    const states = events.filter((e) => e.type === "state").map((e) => `${e.step}:${e.state}`);
    expect(states).toEqual(expect.arrayContaining(["40:thinker_only", "40:thinker_and_writer"]));
    for (const step of yesSteps) {
      const first = answers.findIndex((a) => a.step > step);
      if (first < 0) continue;
      // Thoughts sampled before the probe's step were fed by the time it was asked.
      const fed = events.filter((e) => e.type === "thought" && e.step < step).length;
      expect(seenAtWriterDecode[first]).toBeGreaterThanOrEqual(fed);
    }
  });

  it("is reported per turn: 0 when every view is updated every step, up to a chunk otherwise", async () => {
    const script = { thinker: repeat(" t", 120), writer: [...repeat(" w", 60), "<|im_end|>"] };
    const everyStep = fakeEngine(script, ["yes"], { thoughtSharing: "every-step" });
    const a = await everyStep.engine.ask("q").done;
    expect(a.metrics.writerTokens).toBe(60);
    expect(a.metrics.thoughtLagMax).toBe(0);
    expect(a.metrics.thoughtLagMean).toBe(0);
    const chunks = fakeEngine(script, ["yes"], { thoughtSharing: "chunks" });
    const b = await chunks.engine.ask("q").done;
    expect(b.metrics.thoughtLagMax).toBeGreaterThan(0);
    expect(b.metrics.thoughtLagMax).toBeLessThanOrEqual(32);
    expect(b.metrics.thoughtLagMean).toBeGreaterThan(0);
    // Every step costs more shift passes; that is the trade.
    expect(a.metrics.shiftPasses).toBeGreaterThan(b.metrics.shiftPasses);
  });

  it("auto shares every step on a GPU and in chunks on the CPU, and says which", async () => {
    const script = { thinker: repeat(" t", 30), writer: [" w", "<|im_end|>"] };
    const cpu = fakeEngine(script, ["yes"]);
    await cpu.engine.ask("q").done;
    expect(cpu.engine.options.thoughtSharing).toMatch(/chunks of 32/);
    const gpu = fakeEngine(script, ["yes"], {}, { gpu: "vulkan" });
    expect(gpu.engine.options.thoughtSharing).toBe("every step");
    const turn = gpu.engine.ask("q");
    await turn.done;
    expect(turn.events[0]).toMatchObject({ type: "start", thoughtSharing: "every step" });
    // A GPU backend that put no layer on the GPU runs on the CPU: chunks again.
    const noLayers = fakeEngine(script, ["yes"], {}, { gpu: "vulkan", gpuLayers: 0 });
    expect(noLayers.engine.options.thoughtSharing).toMatch(/chunks of 32/);
    const someLayers = fakeEngine(script, ["yes"], {}, { gpu: "vulkan", gpuLayers: 12 });
    expect(someLayers.engine.options.thoughtSharing).toBe("every step");
  });
});
