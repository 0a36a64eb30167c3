// Expected Attention (Devoto, Jeblick & Jégou 2025, arXiv 2510.00636, "Expected Attention: KV Cache
// Compression by Estimating Attention from Future Queries Distribution"; the authors' code is kvpress's
// ExpectedAttentionPress, which this follows). Future queries are modelled as Gaussian, with the mean μ and
// covariance Σ of the prompt's pre-RoPE queries (the first n_sink = 4 left out as outliers), moved to the next
// n_future = 512 positions by the RoPE matrix averaged over them: R̄ = mean_p R_p, μ' = R̄μ, Σ' = R̄ΣR̄ᵀ.
// For q ~ N(μ', Σ'), E[exp(qᵀk/√d)] = exp(μ'ᵀk/√d + kᵀΣ'k/2d), so per query head each key scores
// softmax_j(μ'ᵀk_j/√d + k_jᵀΣ'k_j/(2d)) over the KV head's keys past the first n_sink, averaged over the GQA
// group and rescaled to (score + ε)·‖v_j‖ (ε = 0). The first n_sink tokens are always kept. One shot at the
// end of the prefill, as kvpress; decoding appends (wrap in `decoding` to compress while generating).
//
// The cache holds post-RoPE queries, so the statistics undo each query's rotation at its own position (the
// model's rotary frequencies come with the observation). They are running sums over every query seen since the
// last compression (the prompt's, or while decoding those since the wrapper's last compression), leaving out
// the queries at the first n_sink positions: for a prompt these are the n_sink hidden states kvpress drops; in
// decoding kvpress would drop the first n_sink buffered ones, which are not outliers, and here they count.
// Query-aware probes are not counted: kvpress scores the context without the question.
import type { HeadScorer } from './adakv.js';
import { Budget, type BudgetOptions, topKIndices } from './budget.js';
import type { AttentionObservation, KeepSets, LayerState, Rotary, StepInfo } from './press.js';

export interface ExpectedAttentionOptions extends BudgetOptions {
  /** Future positions the RoPE rotation is averaged over (default 512). */
  nFuture?: number;
  /** Leading tokens always kept, and leading queries left out of the statistics (default 4). */
  nSink?: number;
  /** Include the covariance term kᵀΣ'k/2d (default true). */
  useCovariance?: boolean;
  /** Rescale by the value norm: (score + ε)·‖v‖ (default true). */
  useVnorm?: boolean;
  /** ε of the rescaling (default 0; kvpress's evaluation registry uses 0.01 with AdaKV). */
  epsilon?: number;
}

/** Running sums of pre-RoPE queries per query head: Σq `[nHeads][d]` and Σqqᵀ (upper triangle) `[nHeads][d][d]`. */
interface QueryStats {
  count: number;
  sum: Float64Array;
  outer: Float64Array;
}

export class ExpectedAttentionPress implements HeadScorer {
  readonly name = 'expected';
  readonly wantsQueries = true;
  readonly nFuture: number;
  readonly nSink: number;
  readonly useCovariance: boolean;
  readonly useVnorm: boolean;
  readonly epsilon: number;
  private readonly budget: Budget;
  private stats = new Map<number, QueryStats>();
  private rope: Rotary | undefined;

  constructor(o: ExpectedAttentionOptions) {
    this.budget = new Budget(o, 'expected');
    this.nFuture = o.nFuture ?? 512;
    this.nSink = o.nSink ?? 4;
    this.useCovariance = o.useCovariance ?? true;
    this.useVnorm = o.useVnorm ?? true;
    this.epsilon = o.epsilon ?? 0;
    if (!Number.isInteger(this.nFuture) || this.nFuture < 1)
      throw new RangeError(`expected: nFuture must be a whole number >= 1, got ${o.nFuture}`);
    if (!Number.isInteger(this.nSink) || this.nSink < 0)
      throw new RangeError(`expected: nSink must be a whole number >= 0, got ${o.nSink}`);
    if (!(Number.isFinite(this.epsilon) && this.epsilon >= 0))
      throw new RangeError(`expected: epsilon must be a number >= 0, got ${o.epsilon}`);
  }

  reset(): void {
    this.stats.clear();
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    if (obs.probe) return;
    if (!obs.rope) throw new Error('expected: the observed queries come without their rotary embedding');
    this.rope = obs.rope;
    const d = state.headDim;
    const H = obs.nHeads;
    let st = this.stats.get(layer);
    if (!st) {
      st = { count: 0, sum: new Float64Array(H * d), outer: new Float64Array(H * d * d) };
      this.stats.set(layer, st);
    }
    const x = new Float64Array(d);
    const pairs = obs.rope.dims / 2;
    const cos = new Float64Array(pairs);
    const sin = new Float64Array(pairs);
    for (let t = 0; t < obs.nTokens; t++) {
      if (obs.positions[t] < this.nSink) continue;
      st.count++;
      // The rotation undoing this token's position, once for all its heads (the trigonometry dominated).
      for (let i = 0; i < pairs; i++) {
        cos[i] = Math.cos(-obs.positions[t] * obs.rope.invFreq[i]);
        sin[i] = Math.sin(-obs.positions[t] * obs.rope.invFreq[i]);
      }
      for (let h = 0; h < H; h++) {
        const o = (t * H + h) * d;
        for (let c = 0; c < d; c++) x[c] = obs.queries[o + c];
        turn(x, obs.rope, cos, sin);
        const S = st.sum.subarray(h * d, (h + 1) * d);
        const O = st.outer.subarray(h * d * d, (h + 1) * d * d);
        for (let a = 0; a < d; a++) {
          S[a] += x[a];
          for (let b = a; b < d; b++) O[a * d + b] += x[a] * x[b];
        }
      }
    }
  }

  layerTarget(state: LayerState): number {
    return this.budget.target(state.seen);
  }

  /** Per KV head at a one-shot moment: the expected-attention scores, +∞ for the first n_sink tokens. */
  headScores(state: LayerState, step: StepInfo): Float64Array[] | null {
    if (!step.prefillDone) return null;
    const st = this.stats.get(state.layer);
    this.stats.delete(state.layer);
    if (!st || st.count === 0 || !this.rope) return null;
    const d = state.headDim;
    const H = state.nKvHeads * state.groupSize;
    const R = meanRotation(this.rope, state.seen, this.nFuture);
    const moments = Array.from({ length: H }, (_, h) => futureMoments(st, h, d, R, this.useCovariance));
    return Array.from({ length: state.nKvHeads }, (_, kv) =>
      expectedScores(
        state.keys(kv),
        state.values(kv),
        state.length(kv),
        d,
        moments.slice(kv * state.groupSize, (kv + 1) * state.groupSize),
        this,
      ),
    );
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (!step.prefillDone) return null;
    const target = this.layerTarget(state);
    let over = false;
    for (let h = 0; h < state.nKvHeads; h++) over ||= state.length(h) > target;
    if (!over) {
      this.stats.delete(state.layer);
      return null;
    }
    const scores = this.headScores(state, step);
    return scores?.map((s) => (s.length > target ? topKIndices(s, target) : null)) ?? null;
  }
}

/** Turns `x` (one head, `[d]`) in place by the rotation whose per-pair cosines and sines are given. */
function turn(x: Float64Array, rope: Rotary, cos: Float64Array, sin: Float64Array): void {
  const pairs = rope.dims / 2;
  for (let i = 0; i < pairs; i++) {
    const a = rope.layout === 'normal' ? 2 * i : i;
    const b = rope.layout === 'normal' ? a + 1 : i + pairs;
    const xa = x[a];
    x[a] = xa * cos[i] - x[b] * sin[i];
    x[b] = xa * sin[i] + x[b] * cos[i];
  }
}

/** R̄, the RoPE rotation averaged over positions [from, from + nFuture): mean cos and sin per rotated pair. */
export interface MeanRotation {
  rope: Rotary;
  cos: Float64Array;
  sin: Float64Array;
}

export function meanRotation(rope: Rotary, from: number, nFuture: number): MeanRotation {
  const pairs = rope.dims / 2;
  const cos = new Float64Array(pairs);
  const sin = new Float64Array(pairs);
  for (let i = 0; i < pairs; i++) {
    for (let p = from; p < from + nFuture; p++) {
      cos[i] += Math.cos(p * rope.invFreq[i]);
      sin[i] += Math.sin(p * rope.invFreq[i]);
    }
    cos[i] /= nFuture;
    sin[i] /= nFuture;
  }
  return { rope, cos, sin };
}

/** Mean query μ' and covariance Σ' (`[d][d]`, or undefined) of query head `h`, moved to the future by R̄. */
export function futureMoments(
  st: { count: number; sum: Float64Array; outer: Float64Array },
  h: number,
  d: number,
  R: MeanRotation,
  useCovariance: boolean,
): { mean: Float64Array; cov?: Float64Array } {
  const n = st.count;
  const mean = Float64Array.from(st.sum.subarray(h * d, (h + 1) * d), (v) => v / n);
  let cov: Float64Array | undefined;
  if (useCovariance) {
    cov = new Float64Array(d * d);
    const O = st.outer.subarray(h * d * d, (h + 1) * d * d);
    for (let a = 0; a < d; a++)
      for (let b = a; b < d; b++) {
        const v = O[a * d + b] / n - mean[a] * mean[b];
        cov[a * d + b] = v;
        cov[b * d + a] = v;
      }
  }
  // R̄ acts on each rotated pair (a, b) as [[C̄, −S̄], [S̄, C̄]]; channels past rope.dims are left alone.
  const { rope } = R;
  const pairs = rope.dims / 2;
  for (let i = 0; i < pairs; i++) {
    const C = R.cos[i];
    const S = R.sin[i];
    const a = rope.layout === 'normal' ? 2 * i : i;
    const b = rope.layout === 'normal' ? a + 1 : i + pairs;
    const ma = mean[a];
    mean[a] = C * ma - S * mean[b];
    mean[b] = S * ma + C * mean[b];
    if (cov) {
      for (let k = 0; k < d; k++) {
        // Rows a and b of R̄Σ, then columns a and b of (R̄Σ)R̄ᵀ.
        const ra = cov[a * d + k];
        cov[a * d + k] = C * ra - S * cov[b * d + k];
        cov[b * d + k] = S * ra + C * cov[b * d + k];
      }
      for (let k = 0; k < d; k++) {
        const ca = cov[k * d + a];
        cov[k * d + a] = C * ca - S * cov[k * d + b];
        cov[k * d + b] = S * ca + C * cov[k * d + b];
      }
    }
  }
  return { mean, cov };
}

/**
 * One KV head's scores: per query head of its group, softmax over the keys past the first `nSink` of
 * μ'ᵀk/√d (+ kᵀΣ'k/2d); the group's mean, times ‖v‖ after adding ε; +∞ for the first `nSink` tokens.
 */
export function expectedScores(
  keys: Float32Array,
  values: Float32Array,
  n: number,
  d: number,
  group: { mean: Float64Array; cov?: Float64Array }[],
  o: { nSink: number; useVnorm: boolean; epsilon: number },
): Float64Array {
  const sink = Math.min(o.nSink, n);
  const out = new Float64Array(n);
  const z = new Float64Array(n - sink);
  const k = new Float64Array(d);
  for (const { mean, cov } of group) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = sink; j < n; j++) {
      for (let c = 0; c < d; c++) k[c] = keys[j * d + c];
      let s = 0;
      for (let c = 0; c < d; c++) s += mean[c] * k[c];
      s /= Math.sqrt(d);
      if (cov) {
        let quad = 0;
        for (let a = 0; a < d; a++) {
          let row = 0;
          for (let b = 0; b < d; b++) row += cov[a * d + b] * k[b];
          quad += k[a] * row;
        }
        s += quad / d / 2;
      }
      z[j - sink] = s;
      if (s > max) max = s;
    }
    let total = 0;
    for (let i = 0; i < z.length; i++) {
      z[i] = Math.exp(z[i] - max);
      total += z[i];
    }
    for (let i = 0; i < z.length; i++) out[sink + i] += z[i] / total / group.length;
  }
  for (let j = sink; j < n; j++) {
    if (!o.useVnorm) continue;
    let ss = 0;
    for (let c = 0; c < d; c++) ss += values[j * d + c] ** 2;
    out[j] = (out[j] + o.epsilon) * Math.sqrt(ss);
  }
  out.fill(Number.POSITIVE_INFINITY, 0, sink);
  return out;
}
