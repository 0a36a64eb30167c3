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
// The statistics take the queries before RoPE, as kvpress computes them from the hidden states: the model
// hands them over (`wantsPreRopeQueries`); an observation without them has each query's rotation undone at its
// own position (the rotary frequencies come with it). They are running sums over every query seen since the
// last compression (the prompt's, or while decoding those since the wrapper's last compression), leaving out
// the queries at the first n_sink positions: for a prompt these are the n_sink hidden states kvpress drops; in
// decoding kvpress would drop the first n_sink buffered ones, which are not outliers, and here they count.
// Query-aware probes are not counted: kvpress scores the context without the question. The sums of squares
// and the keys' quadratic forms are dense products (d² per query, d² per key and query head: the bulk of the
// work), done by the model's kernels through `LayerState.product`.
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

/**
 * Running sums of pre-RoPE queries per query head, taken about a shift s (the head's first counted query): the
 * f32 products then see values of the queries' spread, not of their mean, and Σ loses nothing to
 * cancellation where a channel's mean dwarfs its spread (queries have such channels).
 */
interface QueryStats {
  count: number;
  /** s `[nHeads][d]`. */
  shift: Float64Array;
  /** Σ(q − s) `[nHeads][d]`. */
  sum: Float64Array;
  /** Σ(q − s)(q − s)ᵀ `[nHeads][d][d]`. */
  outer: Float64Array;
  /** Queries not yet in the sums, `[HOLD][nHeads · d]`, the first `held` in use (allocated when first needed). */
  pending?: Float32Array;
  held: number;
}

/** Queries a call brings (or decoding steps collect) before they go into the sums as one product. */
const HOLD = 32;

export class ExpectedAttentionPress implements HeadScorer {
  readonly name = 'expected';
  readonly wantsQueries = true;
  readonly wantsPreRopeQueries = true;
  readonly nFuture: number;
  readonly nSink: number;
  readonly useCovariance: boolean;
  readonly useVnorm: boolean;
  readonly epsilon: number;
  private readonly budget: Budget;
  private stats = new Map<number, QueryStats>();
  private rope: Rotary | undefined;
  /** Arrays reused across calls: fresh pages of a few MB per call cost more than the arithmetic on them. */
  private readonly scratch = new Scratch();

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
    const W = obs.nHeads * state.headDim;
    const counted: number[] = [];
    for (let t = 0; t < obs.nTokens; t++) if (obs.positions[t] >= this.nSink) counted.push(t);
    if (counted.length === 0) return;
    const Q = obs.preRopeQueries ?? unrotated(obs, state.headDim);
    let st = this.stats.get(layer);
    if (!st) {
      const shift = Float64Array.from(Q.subarray(counted[0] * W, (counted[0] + 1) * W));
      st = { count: 0, shift, sum: new Float64Array(W), outer: new Float64Array(W * state.headDim), held: 0 };
      this.stats.set(layer, st);
    }
    if (counted.length >= HOLD) {
      this.fold(st, state, Q, counted);
      return;
    }
    // A few queries (decoding) wait in `pending` until HOLD of them make one product worth its dispatch.
    st.pending ??= new Float32Array(HOLD * W);
    for (const t of counted) {
      if (st.held === HOLD) this.foldHeld(st, state);
      st.pending.set(Q.subarray(t * W, (t + 1) * W), st.held++ * W);
    }
  }

  private foldHeld(st: QueryStats, state: LayerState): void {
    if (st.held === 0 || !st.pending) return;
    this.fold(
      st,
      state,
      st.pending,
      Array.from({ length: st.held }, (_, i) => i),
    );
    st.held = 0;
  }

  /** Adds the pre-RoPE queries at `rows` of Q `[rows][nHeads · d]` to the layer's sums. */
  private fold(st: QueryStats, state: LayerState, Q: Float32Array, rows: readonly number[]): void {
    const d = state.headDim;
    const W = st.sum.length;
    const H = W / d;
    const n = rows.length;
    st.count += n;
    // The shifted queries per head transposed, x `[H][d][n]`, so that each head's Σ(q − s)(q − s)ᵀ is its
    // `[d][n]` block times itself: one batched product for all heads. Tokens go in blocks of 16, so each row
    // of x is written a cache line at a time.
    const x = this.scratch.get('x', W * n);
    const { shift, sum } = st;
    for (let u0 = 0; u0 < n; u0 += 16) {
      const u1 = Math.min(n, u0 + 16);
      for (let i = 0; i < W; i++) {
        let s = 0;
        for (let u = u0; u < u1; u++) {
          const r = Q[rows[u] * W + i] - shift[i];
          x[i * n + u] = r;
          s += r;
        }
        sum[i] += s;
      }
    }
    const gram = multiply(state, x, x, d, d, n, H, this.scratch.get('gram', H * d * d));
    for (let i = 0; i < gram.length; i++) st.outer[i] += gram[i];
  }

  layerTarget(state: LayerState): number {
    return this.budget.target(state.seen);
  }

  /** Per KV head at a one-shot moment: the expected-attention scores, +∞ for the first n_sink tokens. */
  headScores(state: LayerState, step: StepInfo): Float64Array[] | null {
    if (!step.prefillDone) return null;
    const st = this.stats.get(state.layer);
    this.stats.delete(state.layer);
    if (st) this.foldHeld(st, state);
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
        state,
        this.scratch,
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

/**
 * The observation's queries with RoPE undone, `[nTokens][nHeads * d]`, for observations that come without
 * their pre-RoPE copy: at position p pair i turns back by −p·θᵢ, (a, b) → (a·cos + b·sin, b·cos − a·sin).
 */
function unrotated(obs: AttentionObservation, d: number): Float32Array {
  const rope = obs.rope as Rotary;
  const pairs = rope.dims / 2;
  const out = Float32Array.from(obs.queries.subarray(0, obs.nTokens * obs.nHeads * d));
  for (let t = 0; t < obs.nTokens; t++)
    for (let i = 0; i < pairs; i++) {
      const cos = Math.cos(obs.positions[t] * rope.invFreq[i]);
      const sin = Math.sin(obs.positions[t] * rope.invFreq[i]);
      const a = rope.layout === 'normal' ? 2 * i : i;
      const b = rope.layout === 'normal' ? a + 1 : i + pairs;
      for (let h = 0; h < obs.nHeads; h++) {
        const o = (t * obs.nHeads + h) * d;
        const qa = obs.queries[o + a];
        const qb = obs.queries[o + b];
        out[o + a] = qa * cos + qb * sin;
        out[o + b] = qb * cos - qa * sin;
      }
    }
  return out;
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
  st: QueryStats,
  h: number,
  d: number,
  R: MeanRotation,
  useCovariance: boolean,
): { mean: Float64Array; cov?: Float64Array } {
  const n = st.count;
  // Σ = E[(q − s)(q − s)ᵀ] − (μ − s)(μ − s)ᵀ, the shift s leaving the covariance unchanged.
  const off = Float64Array.from(st.sum.subarray(h * d, (h + 1) * d), (v) => v / n);
  const mean = Float64Array.from(off, (v, c) => v + st.shift[h * d + c]);
  let cov: Float64Array | undefined;
  if (useCovariance) {
    cov = new Float64Array(d * d);
    const O = st.outer.subarray(h * d * d, (h + 1) * d * d);
    for (let a = 0; a < d; a++)
      for (let b = a; b < d; b++) {
        const v = O[a * d + b] / n - off[a] * off[b];
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

/** Keys per product while scoring: bounds its output (KEY_BLOCK × group × (d + 1) floats). */
const KEY_BLOCK = 4096;

/**
 * One KV head's scores: per query head of its group, softmax over the keys past the first `nSink` of
 * μ'ᵀk/√d (+ kᵀΣ'k/2d); the group's mean, times ‖v‖ after adding ε; +∞ for the first `nSink` tokens.
 */
function expectedScores(
  keys: Float32Array,
  values: Float32Array,
  n: number,
  d: number,
  group: { mean: Float64Array; cov?: Float64Array }[],
  o: { nSink: number; useVnorm: boolean; epsilon: number },
  state: LayerState,
  scratch: Scratch,
): Float64Array {
  const sink = Math.min(o.nSink, n);
  const out = new Float64Array(n);
  const m = n - sink;
  if (m > 0) {
    // One product gives every key's terms for the whole group: per query head a row μ'/√d, then (with the
    // covariance) the d rows of Σ'/2d, so that kᵀΣ'k/2d is k's dot with its d outputs of that block.
    const w = group[0].cov ? d + 1 : 1;
    const G = group.length;
    const rows = new Float32Array(G * w * d);
    group.forEach(({ mean, cov }, g) => {
      for (let c = 0; c < d; c++) rows[g * w * d + c] = mean[c] / Math.sqrt(d);
      if (cov) for (let i = 0; i < d * d; i++) rows[(g * w + 1) * d + i] = cov[i] / (2 * d);
    });
    // z `[G][m]`: each query head's logits, filled a block of keys at a time (bounding the product's output).
    const z = new Float64Array(G * m);
    for (let j0 = 0; j0 < m; j0 += KEY_BLOCK) {
      const mb = Math.min(KEY_BLOCK, m - j0);
      const K = keys.subarray((sink + j0) * d, (sink + j0 + mb) * d);
      const terms = multiply(state, K, rows, mb, G * w, d, 1, scratch.get('terms', mb * G * w));
      for (let j = 0; j < mb; j++)
        for (let g = 0; g < G; g++) {
          const at = (j * G + g) * w;
          let s = terms[at];
          for (let a = 1; a < w; a++) s += K[j * d + a - 1] * terms[at + a];
          z[g * m + j0 + j] = s;
        }
    }
    for (let g = 0; g < G; g++) {
      const zg = z.subarray(g * m, (g + 1) * m);
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < m; j++) if (zg[j] > max) max = zg[j];
      let total = 0;
      for (let j = 0; j < m; j++) {
        zg[j] = Math.exp(zg[j] - max);
        total += zg[j];
      }
      for (let j = 0; j < m; j++) out[sink + j] += zg[j] / total / G;
    }
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

/**
 * a `[batch][m][k]` · (b `[batch][n][k]`)ᵀ into `into`: by the model's kernels where the state has them, else
 * in f64 loops (a new array).
 */
function multiply(
  state: LayerState,
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  batch: number,
  into: Float32Array,
): Float32Array | Float64Array {
  if (state.product) return state.product(a, b, m, n, k, batch, into);
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += a[(z * m + i) * k + c] * b[(z * n + j) * k + c];
        out[(z * m + i) * n + j] = s;
      }
  return out;
}

/** Named f32 arrays that grow to the largest size asked of them and are handed out as views of that size. */
class Scratch {
  private readonly arrays = new Map<string, Float32Array>();
  get(name: string, length: number): Float32Array {
    let a = this.arrays.get(name);
    if (!a || a.length < length) {
      a = new Float32Array(length);
      this.arrays.set(name, a);
    }
    return a.subarray(0, length);
  }
}
