import { DuetError } from "../errors.js";

/** Taps on each side of an output instant, in units of the lower of the two sample periods. */
const HALF_WIDTH = 16;
/** Largest phase table kept (weights, 8 bytes each): 16 MB. Odd rate pairs past it compute weights per sample. */
const MAX_TABLE_WEIGHTS = 2 ** 21;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Band-limited resampling in a stream: a windowed-sinc low-pass at the lower of the two Nyquist
 * rates (Hann window), evaluated at each output instant and normalised by the sum of its weights.
 *
 * Output `n` sits at input instant `n * from / to`. With the rates reduced to `to = L`,
 * `from = M` (coprime), that instant is `q + r / L` with integer `q` and phase `r < L`, so there
 * are only L distinct sets of weights: they are computed once (not a sine and a cosine per tap
 * per sample, which made a 10-minute recording take tens of seconds) and the input is consumed
 * chunk by chunk, keeping only the taps the next outputs still need.
 *
 * Pushing a signal in any chunking and then calling `end()` gives the same samples as
 * `resample()` on the whole signal. At both ends, taps outside the signal are left out and the
 * remaining weights renormalised.
 */
export class StreamingResampler {
  readonly from: number;
  readonly to: number;
  /** Outputs per period (reduced `to`) and inputs per period (reduced `from`). */
  private readonly outPerPeriod: number;
  private readonly inPerPeriod: number;
  private readonly cutoff: number;
  private readonly support: number;
  /** Weights per phase, `taps` each (tap j = offset j - support from the output's integer instant). */
  private readonly table: Float64Array | undefined;
  private readonly tableNorms: Float64Array | undefined;
  private readonly scratch: Float64Array;
  private readonly taps: number;

  /** Input samples [bufferStart, bufferStart + bufferLength) are kept in `buffer`. */
  private buffer = new Float32Array(0);
  private bufferStart = 0;
  private bufferLength = 0;
  private received = 0;
  private next = 0;
  private ended = false;

  constructor(from: number, to: number) {
    if (!(Number.isInteger(from) && Number.isInteger(to) && from > 0 && to > 0))
      throw new DuetError(
        "invalid-argument",
        `Cannot resample from ${from} Hz to ${to} Hz: rates must be whole numbers of hertz.`,
      );
    this.from = from;
    this.to = to;
    const divisor = gcd(from, to);
    this.outPerPeriod = to / divisor;
    this.inPerPeriod = from / divisor;
    this.cutoff = Math.min(1, to / from); // relative to the input Nyquist
    this.support = Math.ceil(HALF_WIDTH / this.cutoff);
    this.taps = 2 * this.support + 1;
    this.scratch = new Float64Array(this.taps);
    if (this.outPerPeriod * this.taps <= MAX_TABLE_WEIGHTS) {
      this.table = new Float64Array(this.outPerPeriod * this.taps);
      this.tableNorms = new Float64Array(this.outPerPeriod);
      for (let phase = 0; phase < this.outPerPeriod; phase++) {
        const weights = this.table.subarray(phase * this.taps, (phase + 1) * this.taps);
        this.tableNorms[phase] = this.fillWeights(phase, weights);
      }
    }
  }

  /** Samples in the whole output for `inputLength` input samples. */
  outputLength(inputLength: number): number {
    return Math.floor(inputLength * (this.to / this.from));
  }

  /** Adds input; returns the outputs that are now complete (all their taps have arrived). */
  push(input: Float32Array): Float32Array {
    if (this.ended) throw new DuetError("invalid-argument", "The resampler has already ended.");
    this.append(input);
    this.received += input.length;
    return this.produce(false);
  }

  /** Ends the input; returns the remaining outputs (those near the end, with taps cut off). */
  end(): Float32Array {
    if (this.ended) return new Float32Array(0);
    this.ended = true;
    return this.produce(true);
  }

  /**
   * Weights of one phase into `out` (tap j at offset j - support); their sum is returned. Taps
   * that the window puts outside the support (the first, for phases past 0) get weight 0.
   */
  private fillWeights(phase: number, out: Float64Array): number {
    const fraction = phase / this.outPerPeriod;
    const first = phase > 0 ? 1 : 0; // ceil(fraction - support) + support
    let norm = 0;
    for (let j = 0; j < this.taps; j++) {
      if (j < first) {
        out[j] = 0;
        continue;
      }
      const distance = j - this.support - fraction;
      const x = distance * this.cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * distance) / (this.support + 1)); // Hann
      out[j] = sinc * window;
      norm += out[j]!;
    }
    return norm;
  }

  private append(input: Float32Array): void {
    // Inputs before the next output's first tap are no longer needed.
    const keepFrom = Math.max(this.bufferStart, this.instant(this.next).whole - this.support);
    const drop = Math.min(this.bufferLength, keepFrom - this.bufferStart);
    const needed = this.bufferLength - drop + input.length;
    if (needed > this.buffer.length) {
      const grown = new Float32Array(Math.max(needed, this.buffer.length * 2, 4096));
      grown.set(this.buffer.subarray(drop, this.bufferLength));
      this.buffer = grown;
    } else if (drop > 0) {
      this.buffer.copyWithin(0, drop, this.bufferLength);
    }
    this.bufferStart += drop;
    this.bufferLength -= drop;
    this.buffer.set(input, this.bufferLength);
    this.bufferLength += input.length;
  }

  /** Output `n`'s input instant as its whole part and phase (exact integer arithmetic). */
  private instant(n: number): { whole: number; phase: number } {
    const scaled = n * this.inPerPeriod;
    const whole = Math.floor(scaled / this.outPerPeriod);
    return { whole, phase: scaled - whole * this.outPerPeriod };
  }

  private produce(final: boolean): Float32Array {
    const total = final ? this.outputLength(this.received) : Infinity;
    // Without the end, an output is complete once its last tap (whole + support) has arrived.
    const lastComplete = final ? total - 1 : this.lastOutputWithTapsBefore(this.received);
    const count = Math.max(0, lastComplete - this.next + 1);
    const out = new Float32Array(count);
    const last = this.received - 1;
    for (let i = 0; i < count; i++, this.next++) {
      const { whole, phase } = this.instant(this.next);
      let weights: Float64Array;
      let norm: number;
      if (this.table) {
        weights = this.table.subarray(phase * this.taps, (phase + 1) * this.taps);
        norm = this.tableNorms![phase]!;
      } else {
        weights = this.scratch;
        norm = this.fillWeights(phase, weights);
      }
      const firstK = whole - this.support;
      const lo = Math.max(0, -firstK);
      const hi = Math.min(this.taps - 1, last - firstK);
      if (lo > 0 || hi < this.taps - 1) {
        norm = 0;
        for (let j = lo; j <= hi; j++) norm += weights[j]!;
      }
      let acc = 0;
      const base = firstK - this.bufferStart;
      for (let j = lo; j <= hi; j++) acc += this.buffer[base + j]! * weights[j]!;
      out[i] = norm !== 0 ? acc / norm : 0;
    }
    return out;
  }

  /** The last output index whose taps all lie before input index `received`. */
  private lastOutputWithTapsBefore(received: number): number {
    // whole(n) + support <= received - 1  <=>  n * M < (received - support) * L
    const limit = (received - this.support) * this.outPerPeriod;
    if (limit <= 0) return -1;
    return Math.ceil(limit / this.inPerPeriod) - 1;
  }
}

/** The whole signal at once (see `StreamingResampler`). Returns `samples` itself when the rates match. */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const resampler = new StreamingResampler(from, to);
  const head = resampler.push(samples);
  const tail = resampler.end();
  if (tail.length === 0) return head;
  const out = new Float32Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
