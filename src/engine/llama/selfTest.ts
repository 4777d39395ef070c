import { DuetError } from "../errors.js";
import type { KvRuntime, LogitsRef, Token } from "./types.js";

export interface AdapterSelfTestResult {
  /** Keys shifted by a constant: must match a plain evaluation (RoPE relativity). */
  shiftAll: number;
  /** A block decoded at the end and rotated into the middle: exact on 1-layer models. */
  insertViaEnd: number;
  /** A question appended, read and removed: must leave no trace. */
  probeRemoved: number;
  /** A deliberately wrong layout, to prove the comparison can fail. */
  wrongLayout: number;
  /** Largest float noise accepted for the exact checks. */
  tolerance: number;
  passed: boolean;
}

/** Max |Δ log p| over tokens that either distribution gives more than 1e-7. */
export async function distributionDistance(
  runtime: KvRuntime,
  a: Map<Token, number>,
  b: Map<Token, number>,
): Promise<number> {
  let worst = 0;
  for (const [token, pa] of a) {
    const pb = b.get(token) ?? 0;
    if (pa < 1e-7 && pb < 1e-7) continue;
    worst = Math.max(worst, Math.abs(Math.log(Math.max(pa, 1e-30)) - Math.log(Math.max(pb, 1e-30))));
  }
  void runtime;
  return worst;
}

export async function fullDistribution(
  runtime: KvRuntime,
  logits: LogitsRef | undefined,
): Promise<Map<Token, number>> {
  if (!logits) throw new DuetError("decode-failed", "No logits were computed.");
  const { tokens, probabilities } = await runtime.candidates(logits, 0);
  return new Map(tokens.map((t, i) => [t, probabilities[i]!]));
}

const block = (start: number, length: number, vocab: number): Token[] =>
  Array.from({ length }, (_, i) => (start + i * 37) % vocab);

/**
 * Checks the native primitives the engine relies on against plain evaluations on two sequences
 * of the same context. Run on a generated 1-layer model (insertion is exact only there). A
 * node-llama-cpp upgrade that changes these internals makes this fail loudly.
 */
export async function runAdapterSelfTest(
  runtime: KvRuntime,
  options: { vocabularySize: number; tolerance?: number },
): Promise<AdapterSelfTestResult> {
  if (runtime.sequences < 2) throw new DuetError("invalid-argument", "The self-test needs two sequences.");
  const vocab = Math.min(options.vocabularySize, 256);
  const P = block(3, 40, vocab);
  const T = block(11, 30, vocab);
  const X = block(29, 5, vocab);
  const Q = block(57, 3, vocab);
  const C = block(91, 6, vocab);
  const tolerance = options.tolerance ?? 0.05;
  const reset = (): void => {
    runtime.clear(0);
    runtime.clear(1);
  };
  const decodeAt = async (sequence: number, firstPosition: number, tokens: Token[], logits = false) =>
    (
      await runtime.decode([
        { sequence, firstPosition, tokens, ...(logits ? { logitIndex: tokens.length - 1 } : {}) },
      ])
    )[0];

  try {
    // Plain reference [P, T, Q] in sequence 1, and [P, X, T, Q].
    reset();
    const reference = await fullDistribution(runtime, await decodeAt(1, 0, [...P, ...T, ...Q], true));
    runtime.clear(1);
    const referenceInserted = await fullDistribution(
      runtime,
      await decodeAt(1, 0, [...P, ...X, ...T, ...Q], true),
    );

    // Shift everything by +300, then continue.
    await decodeAt(0, 0, [...P, ...T]);
    runtime.shift(0, 0, -1, 300);
    const shifted = await fullDistribution(runtime, await decodeAt(0, 300 + P.length + T.length, Q, true));
    const shiftAll = await distributionDistance(runtime, shifted, reference);

    // Insert X between P and T: decode at the end, park, move the tail, move X into place.
    runtime.clear(0);
    await decodeAt(0, 0, [...P, ...T]);
    const p = P.length;
    const q = runtime.positions(0).max + 1;
    const n = X.length;
    await decodeAt(0, q, X);
    runtime.shift(0, q, q + n, n);
    runtime.shift(0, p, q, n);
    runtime.shift(0, q + n, q + 2 * n, p - q - n);
    if (runtime.positions(0).max !== q + n - 1)
      throw new DuetError("adapter-incompatible", "Positions after an insert are wrong.");
    const inserted = await fullDistribution(runtime, await decodeAt(0, q + n, Q, true));
    const insertViaEnd = await distributionDistance(runtime, inserted, referenceInserted);

    // Probe: append C, read it, remove it, then continue as if never asked.
    runtime.clear(0);
    await decodeAt(0, 0, [...P, ...T]);
    const end = runtime.positions(0).max + 1;
    await fullDistribution(runtime, await decodeAt(0, end, C, true));
    runtime.remove(0, end, -1);
    const afterProbe = await fullDistribution(runtime, await decodeAt(0, end, Q, true));
    const probeRemoved = await distributionDistance(runtime, afterProbe, reference);

    // Control: T before P is a different text and must look different.
    runtime.clear(0);
    const wrong = await fullDistribution(runtime, await decodeAt(0, 0, [...T, ...P, ...Q], true));
    const wrongLayout = await distributionDistance(runtime, wrong, reference);

    const passed =
      shiftAll < tolerance &&
      insertViaEnd < tolerance &&
      probeRemoved < tolerance &&
      wrongLayout > 10 * tolerance;
    return { shiftAll, insertViaEnd, probeRemoved, wrongLayout, tolerance, passed };
  } finally {
    reset();
  }
}
