import { GgmlType } from "../gguf/types.js";
import type { GgufTensorSpec } from "../gguf/writer.js";
import type { Vocabulary } from "./vocabulary.js";

/**
 * Attention set by construction (docs/programmed-models.md): after the `query` token the model
 * says a token it finds earlier in its context, instead of what the next-token table says.
 *
 * - With a `marker` (an induction head): the value token that came right after `marker`.
 *   Layer 1 holds a previous-token head (RoPE, relative position 1), layer 2 the induction head
 *   that looks for "the token before me was the marker".
 * - Without a marker (a content head): the value token itself, wherever it is in view. Layer 2
 *   looks for it by content; its keys and values depend on the token alone.
 *
 * Only `values` can be copied (one head dimension each). When nothing matches, the table's rule
 * for `query` applies (its "default"). The marker should occur once in a context: several
 * occurrences mix their successors (there is no recency term).
 */
export interface TinyCopyRule {
  /** The token after which the model copies. */
  query: string;
  /** Copy the value that followed this token (previous-token head + induction head). Omitted: copy the value token itself. */
  marker?: string;
  /** The tokens the model can copy; at most one head dimension each. */
  values: readonly string[];
}

/** Widths of a copy model, from the vocabulary and the rule. */
export interface CopyModelShape {
  embedding: number;
  headDim: number;
  feedForward: number;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** The smallest shape that holds the construction (the head dimension may be asked larger). */
export function copyModelShape(vocabularySize: number, rule: TinyCopyRule, headDim = 64): CopyModelShape {
  const values = rule.values.length;
  if (values === 0) throw new Error("A copy rule needs at least one value token");
  if (!Number.isInteger(headDim) || headDim < 16 || headDim % 2 !== 0)
    throw new Error(`A copy model's head dimension must be an even integer of at least 16, got ${headDim}`);
  if (values > headDim)
    throw new Error(`A copy rule holds at most ${headDim} values (one head dimension each), got ${values}`);
  // Tokens, the "previous token was the marker" feature, the copied value, the gated answer.
  return {
    embedding: roundUp(vocabularySize + 1 + 2 * values, 64),
    headDim,
    feedForward: roundUp(values, 32),
  };
}

/** Weights of the previous-token head's rotary pairs, and how far its score at distance 1 stands out. */
export interface PreviousTokenHead {
  /** Per rotary pair: its share of the score (sums to 1); 0 for pairs not used. */
  weights: Float64Array;
  /** Rotation per position of each pair (RoPE theta_k = base^(-2k/d)). */
  thetas: Float64Array;
  /** 1 - the best normalised score at any other distance in [0, contextLength]. */
  margin: number;
}

/**
 * Chooses the previous-token head's rotary pairs. With query and key fixed vectors whose pair k
 * differs by one position's rotation, the score at distance D is S * sum_k w_k cos((D - 1) theta_k):
 * the largest at D = 1. The fastest pair (1 radian per position) separates near distances; it
 * repeats every 2 pi positions, so slower pairs (those that turn at least once over the context)
 * break the repetition. 0.4 on the fastest pair gives a margin of about 0.15-0.19 for head
 * dimensions 64-128, bases 1e4-1e6 and contexts 4k-40k (an LP optimum is about 0.27).
 */
export function previousTokenHead(
  headDim: number,
  ropeBase: number,
  contextLength: number,
): PreviousTokenHead {
  const pairs = headDim / 2;
  const thetas = Float64Array.from({ length: pairs }, (_, k) => ropeBase ** ((-2 * k) / headDim));
  const turning = thetas.filter((theta) => theta * contextLength >= 1).length;
  if (turning < 2)
    throw new Error("The RoPE base is too large for a previous-token head at this head dimension");
  const weights = new Float64Array(pairs);
  weights[0] = 0.4;
  for (let k = 1; k < turning; k++) weights[k] = 0.6 / (turning - 1);
  let best = -Infinity;
  for (let distance = 0; distance <= contextLength; distance++) {
    if (distance === 1) continue;
    let score = 0;
    for (let k = 0; k < turning; k++) score += weights[k]! * Math.cos((distance - 1) * thetas[k]!);
    best = Math.max(best, score);
  }
  return { weights, thetas, margin: 1 - best };
}

/** Nats by which the previous token beats the nearest rival in the previous-token head. */
const PREVIOUS_TOKEN_MARGIN = 30;
/** Largest score (|q| |k| / sqrt(d)) in the induction head. */
const INDUCTION_SCALE = 100;
/**
 * The induction head's query direction over (constant, match, sink) features. Scores with
 * INDUCTION_SCALE 100: a key with neither feature -30, the query token itself (the sink) +14, a
 * match +35. So without a match all attention goes to the sink (whose value is 0) and the table
 * speaks; with one, the match wins by 21 nats.
 */
const QUERY_DIRECTION = { constant: -0.3, match: 0.8, sink: 0.5 };
/** Size of the copied value in the residual stream, before and after the gate. */
const COPY_SIZE = 0.5;
/** The gate's pre-activation at the query token (SiLU(20) is 20 within 4e-8). */
const GATE = 20;

interface Indexes {
  query: number;
  marker: number | undefined;
  values: number[];
}

/** A dense row-major matrix, written as ggml rows (`cols` contiguous values per row). */
class Matrix {
  readonly data: Float32Array;
  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    this.data = new Float32Array(rows * cols);
  }
  set(row: number, col: number, value: number): void {
    this.data[row * this.cols + col] = value;
  }
  spec(name: string, type: GgufTensorSpec["type"]): GgufTensorSpec {
    const { rows, cols, data } = this;
    return {
      name,
      dims: [cols, rows],
      type,
      data: function* () {
        for (let r = 0; r < rows; r++) yield data.subarray(r * cols, (r + 1) * cols);
      },
    };
  }
}

const constant = (name: string, size: number, value: number): GgufTensorSpec => ({
  name,
  dims: [size],
  type: GgmlType.F32,
  data: () => [new Float32Array(size).fill(value)],
});

export interface CopyModelInput {
  vocabulary: Vocabulary;
  rule: TinyCopyRule;
  shape: CopyModelShape;
  /** The next-token table: from -> (to -> logit). */
  table: ReadonlyMap<number, ReadonlyMap<number, number>>;
  /** Logit of a certain next token in the table; a copy weighs 4 times that. */
  certainty: number;
  ropeBase: number;
  contextLength: number;
  type: GgufTensorSpec["type"];
}

/**
 * The tensors of a two-layer qwen3 model that follows the table and copies by `rule`
 * (qwen3 as llama.cpp runs it: RMSNorm before attention and feed-forward, per-head RMSNorm of
 * queries and keys, NEOX RoPE on the whole head, softmax(q k / sqrt(d)), SwiGLU feed-forward).
 *
 * Residual stream (width E): dims [0, V) the current token one-hot; V the previous-token feature
 * P; then the copied values C (one dim each); then the gated answer A (one dim each).
 *
 * Layer 1 (blk.0), previous-token head: q and k are the same for every token (every column of W_q and
 * W_k is the same vector), so after the q/k norms they are fixed vectors, and RoPE alone makes
 * position p attend to p - 1 (see previousTokenHead). Its value is 1 for the marker, so it
 * writes P = "the token before me was the marker". Feed-forward silent.
 *
 * Layer 2 (blk.1), induction head, on the three slowest rotary pairs (under 0.15 radians over 40k
 * positions, so these scores barely depend on position and survive any block rotation): every key
 * has a constant feature, a match feature (P, or "I am a value token" without a marker) and a
 * sink feature (only the query token). Only the query token has a query; keys are normalised,
 * so a match scores the same wherever it sits. Its value is the copied token (value dims), written
 * to C. Every other token has q = 0 and averages over everything, so the feed-forward gates C into
 * A only at the query token (SiLU(gate) * up, gate = 20 there and exactly 0 elsewhere).
 *
 * Output: the table reads the token one-hot; the answer dims add 4 x certainty to the copied
 * token. The extra dims change the RMS of the residual, which scales the table's logits by at
 * most 1/sqrt(2) (a certain rule still wins by 21 nats; a copy beats the query's own rule by 70).
 */
export function copyModelTensors(input: CopyModelInput): GgufTensorSpec[] {
  const { vocabulary, rule, shape, table, certainty, ropeBase, contextLength, type } = input;
  const V = vocabulary.tokens.length;
  const { embedding: E, headDim: d, feedForward: F } = shape;
  const P = V;
  const copyDim = (j: number): number => V + 1 + j;
  const answerDim = (j: number): number => V + 1 + rule.values.length + j;
  const ids: Indexes = {
    query: vocabulary.idOfText(rule.query),
    marker: rule.marker === undefined ? undefined : vocabulary.idOfText(rule.marker),
    values: rule.values.map((v) => vocabulary.idOfText(v)),
  };
  if (new Set(ids.values).size !== ids.values.length) throw new Error("A copy rule lists a value twice");
  if (ids.values.includes(ids.query) || (ids.marker !== undefined && ids.values.includes(ids.marker)))
    throw new Error("A copy rule's query and marker cannot be values");
  const half = d / 2;
  const sqrtE = Math.sqrt(E);
  const tensors: GgufTensorSpec[] = [];

  const embeddings = new Matrix(V, E);
  for (let id = 0; id < V; id++) embeddings.set(id, id, 1);
  tensors.push(embeddings.spec("token_embd.weight", type));

  // ---- layer 1: previous-token head ----
  const previous = previousTokenHead(d, ropeBase, contextLength);
  if (previous.margin < 0.1)
    throw new Error(
      `The previous-token head separates distances too weakly (margin ${previous.margin.toFixed(3)})`,
    );
  // Score scale sqrt(d) g^2 with g the q/k norm weight; the nearest rival is PREVIOUS_TOKEN_MARGIN nats below.
  const previousGain = Math.sqrt(PREVIOUS_TOKEN_MARGIN / previous.margin / Math.sqrt(d));
  {
    const q = new Matrix(d, E);
    const k = new Matrix(d, E);
    for (let pair = 0; pair < half; pair++) {
      const amplitude = Math.sqrt(previous.weights[pair]!);
      if (amplitude === 0) continue;
      const theta = previous.thetas[pair]!;
      for (let token = 0; token < V; token++) {
        // NEOX pairs (pair, pair + d/2). The key sits at angle 0, the query one position behind,
        // so after RoPE at positions p and p - 1 they line up.
        k.set(pair, token, amplitude);
        q.set(pair, token, amplitude * Math.cos(theta));
        q.set(pair + half, token, -amplitude * Math.sin(theta));
      }
    }
    const v = new Matrix(d, E);
    if (ids.marker !== undefined) v.set(0, ids.marker, 1);
    const out = new Matrix(E, d);
    // At layer 1 the normed input of a token is sqrt(E) times its one-hot.
    out.set(P, 0, 1 / sqrtE);
    pushLayer(tensors, 0, { q, k, v, out, qkGain: previousGain, E, d, F, type });
  }

  // ---- layer 2: induction (or content) head, gated into the answer dims ----
  {
    // The features must not turn over the context, or a match far away would score less.
    const slowest = ropeBase ** ((-2 * (half - 3)) / d) * contextLength;
    if (slowest > 0.25)
      throw new Error(
        `The RoPE base ${ropeBase} is too small for a ${contextLength}-token context at head dimension ${d}: ` +
          `the induction head's features would turn ${slowest.toFixed(2)} radians`,
      );
    const constantDim = half - 1;
    const matchDim = half - 2;
    const sinkDim = half - 3;
    const q = new Matrix(d, E);
    const norm = Math.hypot(QUERY_DIRECTION.constant, QUERY_DIRECTION.match, QUERY_DIRECTION.sink);
    q.set(constantDim, ids.query, QUERY_DIRECTION.constant / norm);
    q.set(matchDim, ids.query, QUERY_DIRECTION.match / norm);
    q.set(sinkDim, ids.query, QUERY_DIRECTION.sink / norm);
    const k = new Matrix(d, E);
    for (let token = 0; token < V; token++) k.set(constantDim, token, 1);
    if (ids.marker !== undefined) k.set(matchDim, P, 1);
    else for (const value of ids.values) k.set(matchDim, value, 1);
    k.set(sinkDim, ids.query, 1);
    const v = new Matrix(d, E);
    ids.values.forEach((value, j) => v.set(j, value, 1));
    // A matched token's residual is its one-hot plus P = 1 with a marker (RMS norm: sqrt(E / 2) each), alone without.
    const valueNorm = ids.marker !== undefined ? Math.sqrt(E / 2) : sqrtE;
    const out = new Matrix(E, d);
    ids.values.forEach((_, j) => out.set(copyDim(j), j, COPY_SIZE / valueNorm));
    // At the query token the residual is its one-hot plus the copy: |x| = sqrt(1 + COPY_SIZE^2).
    const queryNorm = sqrtE / Math.hypot(1, COPY_SIZE);
    const gate = new Matrix(F, E);
    const up = new Matrix(F, E);
    const down = new Matrix(E, F);
    ids.values.forEach((_, j) => {
      gate.set(j, ids.query, GATE / queryNorm);
      up.set(j, copyDim(j), 1);
      // SiLU(GATE) * queryNorm * copy -> copy again.
      down.set(answerDim(j), j, 1 / (GATE * queryNorm));
    });
    const inductionGain = Math.sqrt(INDUCTION_SCALE / Math.sqrt(d));
    pushLayer(tensors, 1, { q, k, v, out, qkGain: inductionGain, E, d, F, type, ffn: { gate, up, down } });
  }

  tensors.push(constant("output_norm.weight", E, 1));
  const output = new Matrix(V, E);
  for (const [from, row] of table) for (const [to, logit] of row) output.set(to, from, logit / sqrtE);
  // The normed answer dim of a full copy is sqrt(E) * COPY_SIZE / |x|, |x| = sqrt(1 + 2 COPY_SIZE^2).
  ids.values.forEach((value, j) => output.set(value, answerDim(j), (4 * certainty) / (sqrtE * COPY_SIZE)));
  tensors.push(output.spec("output.weight", type));
  return tensors;
}

interface LayerWeights {
  q: Matrix;
  k: Matrix;
  v: Matrix;
  out: Matrix;
  /** q/k RMS-norm weight: the largest score is sqrt(d) * gain^2. */
  qkGain: number;
  E: number;
  d: number;
  F: number;
  type: GgufTensorSpec["type"];
  /** Omitted: a silent feed-forward (SiLU(0) * 0). */
  ffn?: { gate: Matrix; up: Matrix; down: Matrix };
}

function pushLayer(tensors: GgufTensorSpec[], layer: number, w: LayerWeights): void {
  const p = `blk.${layer}`;
  const ffn = w.ffn ?? { gate: new Matrix(w.F, w.E), up: new Matrix(w.F, w.E), down: new Matrix(w.E, w.F) };
  tensors.push(
    constant(`${p}.attn_norm.weight`, w.E, 1),
    w.q.spec(`${p}.attn_q.weight`, w.type),
    w.k.spec(`${p}.attn_k.weight`, w.type),
    w.v.spec(`${p}.attn_v.weight`, w.type),
    w.out.spec(`${p}.attn_output.weight`, w.type),
    constant(`${p}.attn_q_norm.weight`, w.d, w.qkGain),
    constant(`${p}.attn_k_norm.weight`, w.d, w.qkGain),
    constant(`${p}.ffn_norm.weight`, w.E, 1),
    ffn.gate.spec(`${p}.ffn_gate.weight`, w.type),
    ffn.up.spec(`${p}.ffn_up.weight`, w.type),
    ffn.down.spec(`${p}.ffn_down.weight`, w.type),
  );
}
