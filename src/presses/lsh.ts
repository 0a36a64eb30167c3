// The SimHash recall stage of LASER-KV (arXiv 2602.02199): random-hyperplane signatures of K bits in
// each of Lt tables (Charikar 2002); a key is recalled when it shares a bucket with some question token in at
// least two tables, and ranked by the probability of that event, u = 1 − (1−p^K)^Lt − Lt·p^K·(1−p^K)^(Lt−1),
// where p is the fraction of equal signature bits (an estimate of the per-bit collision probability).
import { Rng } from '../generate/sampler.js';

export interface SimHashOptions {
  /** Bits per table (K). */
  bits: number;
  /** Tables (Lt). */
  tables: number;
  seed: number;
}

/** One seeded Gaussian matrix `[dim][bits·tables]` (Box–Muller over the engine's xoshiro128** generator). */
export function gaussianPlanes(dim: number, o: SimHashOptions): Float64Array {
  const rng = new Rng(o.seed);
  const m = new Float64Array(dim * o.bits * o.tables);
  for (let i = 0; i < m.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const a = 2 * Math.PI * rng.next();
    m[i] = r * Math.cos(a);
    if (i + 1 < m.length) m[i + 1] = r * Math.sin(a);
  }
  return m;
}

/** Sign bits (1 = positive) of (x − centre)·R for `n` rows `[n][dim]`; result `[n][bits·tables]`. */
export function signatures(
  x: Float64Array,
  n: number,
  dim: number,
  centre: Float64Array,
  planes: Float64Array,
): Uint8Array {
  const width = planes.length / dim;
  const out = new Uint8Array(n * width);
  const row = new Float64Array(dim);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < dim; c++) row[c] = x[t * dim + c] - centre[c];
    for (let b = 0; b < width; b++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += row[c] * planes[c * width + b];
      out[t * width + b] = s > 0 ? 1 : 0;
    }
  }
  return out;
}

/** Probability that at least two of Lt tables of K bits collide when each bit agrees with probability p. */
export function twoTableProbability(p: number, bits: number, tables: number): number {
  const q = p ** bits;
  return 1 - (1 - q) ** tables - tables * q * (1 - q) ** (tables - 1);
}

/**
 * For each candidate signature: whether it shares a bucket with some question signature in ≥ 2 tables, and
 * its score, the largest u over the question tokens (−∞ when it does not survive).
 */
export function lshRecall(
  cand: Uint8Array,
  nCand: number,
  query: Uint8Array,
  nQuery: number,
  o: SimHashOptions,
): Float64Array {
  const { bits: K, tables: Lt } = o;
  const width = K * Lt;
  const scores = new Float64Array(nCand).fill(Number.NEGATIVE_INFINITY);
  for (let c = 0; c < nCand; c++) {
    let survives = false;
    let best = Number.NEGATIVE_INFINITY;
    for (let q = 0; q < nQuery; q++) {
      let equal = 0;
      let tablesHit = 0;
      for (let t = 0; t < Lt; t++) {
        let same = 0;
        for (let b = t * K; b < (t + 1) * K; b++)
          same += cand[c * width + b] === query[q * width + b] ? 1 : 0;
        equal += same;
        if (same === K) tablesHit++;
      }
      survives ||= tablesHit >= 2;
      best = Math.max(best, twoTableProbability(equal / width, K, Lt));
    }
    if (survives) scores[c] = best;
  }
  return scores;
}
