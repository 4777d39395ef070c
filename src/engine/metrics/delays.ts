/**
 * The paper's latency metrics (docs/method.md, Metrics), exactly as defined there.
 */

/** When each chunk starts playing and the silence before it: in order, each as soon as it is ready and the previous one ended. */
export function scheduleChunks(
  ready: readonly number[],
  durations: readonly number[],
): Array<{ start: number; delay: number }> {
  if (ready.length !== durations.length)
    throw new RangeError("ready and durations must have the same length");
  let nextFree = 0;
  return ready.map((r, i) => {
    const start = Math.max(nextFree, r);
    const delay = start - nextFree;
    nextFree = start + durations[i]!;
    return { start, delay };
  });
}

/** Silence before each chunk (docs/method.md, Metrics: `computeDelays`). */
export function computeDelays(ready: readonly number[], durations: readonly number[]): number[] {
  return scheduleChunks(ready, durations).map((s) => s.delay);
}

export interface DelaySummary {
  /** Sum of delays: all the silence the user hears, the first wait included. */
  totalDelay: number;
  /** Sum of max(delay - 1 s, 0): pauses under a second are forgiven. */
  adjustedDelay: number;
  /** The first delay: time until the first audio. */
  delayToFirst: number;
}

export function summarizeDelays(delays: readonly number[], forgivenSeconds = 1): DelaySummary {
  return {
    totalDelay: delays.reduce((a, b) => a + b, 0),
    adjustedDelay: delays.reduce((a, d) => a + Math.max(d - forgivenSeconds, 0), 0),
    delayToFirst: delays[0] ?? 0,
  };
}

/** A writer token as the metrics see it: when (ms from the request start, prefill included) and at which step. */
export interface WriterTokenTrace {
  timeMs: number;
  step: number;
}

export interface StepMetrics {
  /** Time to the first non-thinking token, ms; null when the writer said nothing. */
  ttftMs: number | null;
  /** Step index of the first writer token. */
  stft: number | null;
  /** 1 + last writer step - number of writer tokens: steps that produced no answer token. */
  stepsDelay: number | null;
  writerTokens: number;
}

export function stepMetrics(trace: readonly WriterTokenTrace[]): StepMetrics {
  const first = trace[0];
  const last = trace[trace.length - 1];
  if (!first || !last) return { ttftMs: null, stft: null, stepsDelay: null, writerTokens: 0 };
  return {
    ttftMs: first.timeMs,
    stft: first.step,
    stepsDelay: 1 + last.step - trace.length,
    writerTokens: trace.length,
  };
}
