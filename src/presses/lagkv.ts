// LagKV (Liang et al. 2025, arXiv 2504.04704, "LagKV: Lag-Relative Information of the KV Cache Tells Which
// Tokens Are Important"). Attention-free: past the sink, the cache is cut into lag partitions of L tokens;
// each partition is scored against the *next* one (its lag reference, §3.2): per channel, min-max normalise
// the partition's keys (and values) by the next partition's range, take the standard deviation over
// channels per token, softmax over the partition (eq. 3–5); score = s_K + s_V. The top ⌊r·L⌋ tokens of each
// scored partition stay (in position order); the last full partition and the remainder stay whole.
// Recursive (§3.3): compression fires whenever n ≥ base + 2L, and compressed tokens are never re-scored.
//
// The one-shot variant follows kvpress's LagKVPress: score once at the end of prefill, rank tokens within
// their partition, and keep a global per-head top-k with sink and tail protected.
//
// Against the authors' code (lag_kv.py; test/presses/lagkv-authors.test.ts replays it on fixed tensors): the
// same tokens after every update. Two differences that do not change which tokens stay: their cache stores the
// kept tokens of a partition in score order (here position order), and their min-max has no epsilon (a
// constant reference channel gives NaN there; here LAG_EPSILON).
import { topKIndices } from './budget.js';
import type { KeepSets, LayerState, Press, StepInfo } from './press.js';

export interface LagKvOptions {
  /** Compression ratio: r = 1/ratio of each scored partition is kept (2, 4, 8 in the paper). */
  ratio: number;
  /** Leading tokens never scored or evicted (S, default 16). */
  sink?: number;
  /** Partition size (L, default 128). */
  lag?: number;
  /** Layers left uncompressed. */
  skipLayers?: number[];
  /** 'recursive' (the paper, default) or 'oneshot' (kvpress). */
  mode?: 'recursive' | 'oneshot';
  /**
   * The forward step that triggers compression attends to the uncompressed cache first (default true, as
   * the reference code); false compresses before that step's attention.
   */
  useThenCompress?: boolean;
}

/** Guards the normalisation against a constant channel in the reference partition. */
export const LAG_EPSILON = 1e-6;

/**
 * Per-token score of one partition `p` (tokens [start, start+L)) against reference partition p+1, for one
 * of K or V (`x` is `[n][d]`): softmax over the partition of the unbiased std over channels of the
 * min-max-normalised rows.
 */
export function lagPartitionScore(x: Float32Array, d: number, start: number, L: number): Float64Array {
  const ref = start + L;
  const min = new Float64Array(d).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(d).fill(Number.NEGATIVE_INFINITY);
  for (let t = ref; t < ref + L; t++) {
    for (let c = 0; c < d; c++) {
      const v = x[t * d + c];
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
    }
  }
  const std = new Float64Array(L);
  const z = new Float64Array(d);
  for (let i = 0; i < L; i++) {
    const t = start + i;
    let mean = 0;
    for (let c = 0; c < d; c++) {
      z[c] = (x[t * d + c] - min[c]) / (max[c] - min[c] + LAG_EPSILON);
      mean += z[c];
    }
    mean /= d;
    let ss = 0;
    for (let c = 0; c < d; c++) ss += (z[c] - mean) ** 2;
    std[i] = Math.sqrt(ss / (d - 1));
  }
  return softmax(std);
}

function softmax(x: Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(x[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

/** One KV head's kept rows, fetched once per compression: keys and values f32 `[length][headDim]`. */
export interface HeadRows {
  keys: Float32Array;
  values: Float32Array;
  headDim: number;
}

/** Scores of the L tokens of the partition starting at `start` (reference: the next partition). */
export type PartitionScorer = (rows: HeadRows, start: number, L: number) => Float64Array;

export const lagScorer: PartitionScorer = (rows, start, L) => {
  const sK = lagPartitionScore(rows.keys, rows.headDim, start, L);
  const sV = lagPartitionScore(rows.values, rows.headDim, start, L);
  for (let i = 0; i < L; i++) sK[i] += sV[i];
  return sK;
};

/**
 * A head's rows from `from` on (the compressed region before it is never scored again), read once: the cache
 * may hand out fresh copies, so never per partition. Partition starts are then relative to `from`.
 */
function rowsOf(state: LayerState, h: number, from: number): HeadRows {
  return { keys: state.keys(h, from), values: state.values(h, from), headDim: state.headDim };
}

/** The lag-partition schedule shared by LagKV and L2KV: what differs is how a partition is scored. */
export class LagPartitionPress implements Press {
  readonly sink: number;
  readonly lag: number;
  readonly ratio: number;
  readonly mode: 'recursive' | 'oneshot';
  readonly useThenCompress: boolean;
  private readonly skip: Set<number>;
  /** Per layer: end of the already-compressed region (`base`). */
  private base = new Map<number, number>();

  constructor(
    readonly name: string,
    o: LagKvOptions,
    private readonly scorer: PartitionScorer,
    defaults: { sink: number; lag: number; skipLayers: number[] },
  ) {
    if (!(Number.isFinite(o.ratio) && o.ratio >= 1))
      throw new RangeError(`${name}: ratio must be a number >= 1, got ${o.ratio}`);
    this.ratio = o.ratio;
    this.sink = o.sink ?? defaults.sink;
    this.lag = o.lag ?? defaults.lag;
    if (!Number.isInteger(this.sink) || this.sink < 0)
      throw new RangeError(`${name}: sink must be a whole number >= 0, got ${o.sink}`);
    if (!Number.isInteger(this.lag) || this.lag < 2)
      throw new RangeError(`${name}: lag size L must be a whole number >= 2, got ${o.lag}`);
    this.mode = o.mode ?? 'recursive';
    if (this.mode !== 'recursive' && this.mode !== 'oneshot')
      throw new RangeError(`${name}: mode must be recursive or oneshot, got ${o.mode}`);
    this.useThenCompress = o.useThenCompress ?? true;
    this.skip = new Set(o.skipLayers ?? defaults.skipLayers);
  }

  /** Tokens kept from each scored partition: ⌊r·L⌋. */
  get compressBeforeAttention(): boolean {
    return !this.useThenCompress;
  }

  get keptPerPartition(): number {
    return Math.floor(this.lag / this.ratio);
  }

  reset(): void {
    this.base.clear();
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (this.skip.has(state.layer) || this.ratio === 1) return null;
    return this.mode === 'recursive' ? this.recursive(state) : step.prefillDone ? this.oneShot(state) : null;
  }

  private recursive(state: LayerState): KeepSets | null {
    const L = this.lag;
    const base = this.base.get(state.layer) ?? this.sink;
    const n = state.length(0);
    if (n < base + 2 * L) return null;
    const P = Math.floor((n - base) / L);
    const k = this.keptPerPartition;
    const keep: KeepSets = [];
    for (let h = 0; h < state.nKvHeads; h++) {
      const rows = rowsOf(state, h, base);
      const idx: number[] = [];
      for (let i = 0; i < base; i++) idx.push(i);
      for (let p = 0; p < P - 1; p++) {
        const start = p * L;
        for (const i of topKIndices(this.scorer(rows, start, L), k)) idx.push(base + start + i);
      }
      for (let i = base + (P - 1) * L; i < n; i++) idx.push(i);
      keep.push(idx);
    }
    this.base.set(state.layer, base + k * (P - 1));
    return keep;
  }

  private oneShot(state: LayerState): KeepSets | null {
    const L = this.lag;
    const n = state.length(0);
    if (n < this.sink + 2 * L) return null;
    const P = Math.floor((n - this.sink) / L);
    const target = Math.floor(n / this.ratio);
    const keep: KeepSets = [];
    for (let h = 0; h < state.nKvHeads; h++) {
      const rows = rowsOf(state, h, this.sink);
      // Sink and tail score 1, above every within-partition rank (which is at most (L-1)/L).
      const scores = new Float64Array(n).fill(1);
      for (let p = 0; p < P - 1; p++) {
        const start = this.sink + p * L;
        const s = this.scorer(rows, p * L, L);
        const order = Array.from(s.keys()).sort((a, b) => s[a] - s[b] || a - b);
        order.forEach((i, rank) => {
          scores[start + i] = rank / L;
        });
      }
      keep.push(topKIndices(scores, target));
    }
    return keep;
  }
}

export class LagKvPress extends LagPartitionPress {
  constructor(o: LagKvOptions) {
    super('lagkv', o, lagScorer, { sink: 16, lag: 128, skipLayers: [] });
  }
}
