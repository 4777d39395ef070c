import { chunkTokens } from "../metrics/chunking.js";
import { scheduleChunks, summarizeDelays } from "../metrics/delays.js";
import type { ReasoningEngine } from "../reasoning/engine.js";
import type { ReasoningMode, TurnMetrics } from "../reasoning/events.js";
import { answersMatch, extractAnswer } from "./answers.js";
import { promptFor, type Question } from "./questions.js";
import type { SpeechTiming } from "./speechTiming.js";

export interface ChunkRecord {
  text: string;
  spoken: string;
  /** Time of the chunk's last token, from the request start (prefill included). Seconds. */
  genS: number;
  ttsS: number;
  durS: number;
  /** ready = gen + tts (parallel synthesis, as in the paper). */
  readyS: number;
  startS: number;
  delayS: number;
}

export interface RunRecord {
  id: string;
  mode: ReasoningMode;
  layout: string;
  question: string;
  expected: string;
  kind: Question["kind"];
  answer: string;
  thoughts: string;
  extracted: string | null;
  correct: boolean;
  ttftS: number | null;
  stft: number | null;
  stepsDelay: number | null;
  totalDelay: number;
  adjustedDelay: number;
  delayToFirst: number;
  steps: number;
  thinkerTokens: number;
  writerTokens: number;
  /** Thoughts the writer had not seen yet at its decodes: mean and maximum (absent in older runs). */
  thoughtLagMean?: number;
  thoughtLagMax?: number;
  endReason: TurnMetrics["endReason"];
  totalS: number;
  chunks: ChunkRecord[];
  trace: {
    thoughts: Array<[timeS: number, step: number]>;
    answer: Array<[timeS: number, step: number, text: string]>;
  };
  probes: Array<{ step: number; pYes: number; pNo: number; decision: "yes" | "no" }>;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** One question in one mode: the turn, its traces, its chunks and delays, and whether it was right. */
export async function runQuestion(
  engine: ReasoningEngine,
  question: Question,
  mode: ReasoningMode,
  options: { maxSteps: number; timing: SpeechTiming; tokensPerChunk?: number; signal?: AbortSignal },
): Promise<RunRecord> {
  engine.resetConversation();
  const turn = engine.ask(promptFor(question), {
    mode,
    maxSteps: options.maxSteps,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const result = await turn.done;
  if (result.error) throw new Error(`${question.id} (${mode}): ${result.error.message}`);
  const thoughts: RunRecord["trace"]["thoughts"] = [];
  const probes: RunRecord["probes"] = [];
  for (const e of turn.events) {
    if (e.type === "thought") thoughts.push([r3(e.timeMs / 1000), e.step]);
    if (e.type === "probe")
      probes.push({ step: e.step, pYes: r3(e.pYes), pNo: r3(e.pNo), decision: e.decision });
  }
  const answerTrace = result.answerTokens;
  const textChunks = chunkTokens(
    answerTrace.map((t) => ({ text: t.text, timeMs: t.timeMs })),
    options.tokensPerChunk ?? 5,
  );
  const measured = [];
  // Timed as the reference does: the chunk's text with newlines deleted.
  for (const c of textChunks) measured.push({ chunk: c, ...(await options.timing.measure(c.text)) });
  // Chunks with nothing to say (punctuation only) take no time.
  const ready = measured.map((m) => m.chunk.timeMs / 1000 + m.ttsS);
  const schedule = scheduleChunks(
    ready,
    measured.map((m) => m.durationS),
  );
  const delays = summarizeDelays(schedule.map((s) => s.delay));
  const extracted = extractAnswer(result.answer, question.kind);
  const metrics = result.metrics;
  return {
    id: question.id,
    mode,
    layout: engine.options.layout,
    question: question.question,
    expected: question.answer,
    kind: question.kind,
    answer: result.answer,
    thoughts: result.thoughts,
    extracted: extracted ?? null,
    correct: answersMatch(extracted, question.answer, question.kind),
    ttftS: metrics.ttftMs === null ? null : r3(metrics.ttftMs / 1000),
    stft: metrics.stft,
    stepsDelay: metrics.stepsDelay,
    totalDelay: r3(delays.totalDelay),
    adjustedDelay: r3(delays.adjustedDelay),
    delayToFirst: r3(delays.delayToFirst),
    steps: metrics.steps,
    thinkerTokens: metrics.thinkerTokens,
    writerTokens: metrics.writerTokens,
    thoughtLagMean: r3(metrics.thoughtLagMean),
    thoughtLagMax: metrics.thoughtLagMax,
    endReason: metrics.endReason,
    totalS: r3(metrics.totalMs / 1000),
    chunks: measured.map((m, i) => ({
      text: m.chunk.raw,
      spoken: m.spoken,
      genS: r3(m.chunk.timeMs / 1000),
      ttsS: r3(m.ttsS),
      durS: r3(m.durationS),
      readyS: r3(ready[i]!),
      startS: r3(schedule[i]!.start),
      delayS: r3(schedule[i]!.delay),
    })),
    trace: {
      thoughts,
      answer: answerTrace.map((t) => [r3(t.timeMs / 1000), t.step, t.text]),
    },
    probes,
  };
}

export interface ModeSummary {
  mode: ReasoningMode;
  questions: number;
  accuracy: number;
  /** Means over questions; null where no question produced a value. */
  ttftS: number | null;
  totalDelay: number;
  adjustedDelay: number;
  stft: number | null;
  stepsDelay: number | null;
  thinkerTokens: number;
  writerTokens: number;
  thoughtLagMean: number | null;
  thoughtLagMax: number | null;
  probeYesRate: number | null;
  endReasons: Record<string, number>;
}

const mean = (values: Array<number | null>): number | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : r3(present.reduce((a, b) => a + b, 0) / present.length);
};

export function summarizeMode(mode: ReasoningMode, runs: readonly RunRecord[]): ModeSummary {
  const probes = runs.flatMap((r) => r.probes);
  const endReasons: Record<string, number> = {};
  for (const r of runs) endReasons[r.endReason] = (endReasons[r.endReason] ?? 0) + 1;
  return {
    mode,
    questions: runs.length,
    accuracy: runs.length === 0 ? 0 : r3(runs.filter((r) => r.correct).length / runs.length),
    ttftS: mean(runs.map((r) => r.ttftS)),
    totalDelay: mean(runs.map((r) => r.totalDelay)) ?? 0,
    adjustedDelay: mean(runs.map((r) => r.adjustedDelay)) ?? 0,
    stft: mean(runs.map((r) => r.stft)),
    stepsDelay: mean(runs.map((r) => r.stepsDelay)),
    thinkerTokens: mean(runs.map((r) => r.thinkerTokens)) ?? 0,
    writerTokens: mean(runs.map((r) => r.writerTokens)) ?? 0,
    // Runs recorded before lag was measured have none.
    thoughtLagMean: mean(runs.map((r) => r.thoughtLagMean ?? null)),
    thoughtLagMax: runs.some((r) => r.thoughtLagMax !== undefined)
      ? runs.reduce((max, r) => Math.max(max, r.thoughtLagMax ?? 0), 0)
      : null,
    probeYesRate:
      probes.length === 0 ? null : r3(probes.filter((p) => p.decision === "yes").length / probes.length),
    endReasons,
  };
}
