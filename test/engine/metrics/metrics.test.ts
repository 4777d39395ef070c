import { describe, expect, it } from "vitest";
import { chunkTokens, MathTracker } from "../../../src/engine/metrics/chunking.js";
import {
  computeDelays,
  scheduleChunks,
  stepMetrics,
  summarizeDelays,
} from "../../../src/engine/metrics/delays.js";

describe("compute_delays (docs/method.md, Metrics)", () => {
  it("matches the reference example", () => {
    expect(computeDelays([1, 3, 8], [5, 1, 3])).toEqual([1, 0, 1]);
    // The same schedule with each chunk's start time.
    expect(scheduleChunks([1, 3, 8], [5, 1, 3])).toEqual([
      { start: 1, delay: 1 },
      { start: 6, delay: 0 },
      { start: 8, delay: 1 },
    ]);
  });

  it("counts every stall and forgives one second per pause in the adjusted delay", () => {
    // Chunk 0 ready at 2 s (2 s silence), lasts 1 s; chunk 1 ready at 6 s (3 s stall); chunk 2 ready early.
    const delays = computeDelays([2, 6, 6.5], [1, 1, 2]);
    expect(delays).toEqual([2, 3, 0]);
    expect(summarizeDelays(delays)).toEqual({ totalDelay: 5, adjustedDelay: 3, delayToFirst: 2 });
    expect(computeDelays([], [])).toEqual([]);
    expect(() => computeDelays([1], [])).toThrow(RangeError);
  });
});

describe("step metrics", () => {
  it("gives TTFT, STFT and steps delay from a hand-made trace", () => {
    // Writer tokens at steps 4, 5, 6, then a pause, then 10, 11.
    const trace = [4, 5, 6, 10, 11].map((step) => ({ step, timeMs: step * 100 }));
    expect(stepMetrics(trace)).toEqual({ ttftMs: 400, stft: 4, stepsDelay: 1 + 11 - 5, writerTokens: 5 });
  });

  it("gives the paper's non-thinking baseline values for an answer that starts at step 1", () => {
    const trace = [1, 2, 3].map((step) => ({ step, timeMs: step }));
    expect(stepMetrics(trace)).toMatchObject({ stft: 1, stepsDelay: 1 });
    expect(stepMetrics([])).toEqual({ ttftMs: null, stft: null, stepsDelay: null, writerTokens: 0 });
  });
});

describe("chunking", () => {
  const tokens = (texts: string[]) => texts.map((text, i) => ({ text, timeMs: i * 10 }));

  it("groups k tokens per chunk, ready at the last token's time", () => {
    const chunks = chunkTokens(tokens(["The", " answer", " is", " four", ".", " Done", "."]), 5);
    expect(chunks.map((c) => c.text)).toEqual(["The answer is four.", "Done."]);
    expect(chunks.map((c) => c.timeMs)).toEqual([40, 60]);
    expect(chunks[1]).toMatchObject({ startToken: 5, endToken: 7 });
  });

  it("never splits a LaTeX expression, including $$ split across tokens", () => {
    const chunks = chunkTokens(
      tokens(["So", " $", "x", "+", "y", "=", "2", "$", " and", " then", " more", " words", "!"]),
      3,
    );
    // Every chunk holds whole math spans: an even number of dollar signs.
    for (const c of chunks) expect((c.raw.match(/\$/g) ?? []).length % 2).toBe(0);
    expect(chunks[0]!.raw).toContain("$x+y=2$");
    expect(chunks.map((c) => c.raw).join("")).toBe("So $x+y=2$ and then more words!");

    const display = chunkTokens(tokens(["A", "$", "$", "\\frac", "{1}", "{2}", "$$", " ok", " fine"]), 2);
    expect(display.map((c) => c.raw)).toEqual(["A$$\\frac{1}{2}$$", " ok fine"]);
  });

  it("deletes newlines from the chunk text that is timed, as the reference does, and keeps them in the raw text", () => {
    const [chunk] = chunkTokens(tokens(["One", ".\n\n", "Two"]), 5);
    expect(chunk!.text).toBe("One.Two");
    expect(chunk!.raw).toBe("One.\n\nTwo");
  });

  it("tracks open math spans", () => {
    const math = new MathTracker();
    math.feed("cost $5");
    expect(math.open).toBe(true);
    math.feed(" and $");
    expect(math.open).toBe(true); // a lone $ may still start $$
    math.feed(" ok");
    expect(math.open).toBe(false);
  });
});
