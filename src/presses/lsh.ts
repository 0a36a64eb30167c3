// The SimHash recall stage of LASER-KV (arXiv 2602.02199), as the authors' LSHSelector in its
// 'magicpig_baseline' mode (zer0-data/DistInf, bmrt/selectors/lsh_core.py) does it: random-hyperplane
// signatures of K bits in each of L tables (Charikar 2002), candidates and question centred by the
// candidates' mean; a table's bucket is its K bits read as a number (bit k weighs 2^k). A candidate collides
// in a table when its bucket is the bucket of *any* question token in that table (the union over the
// question), and survives with collisions in at least two tables. Survivors are ranked by the largest, over
// the question tokens, of u = 1 − (1−p^K)^L − L·p^K·(1−p^K)^(L−1), with p the fraction of equal bits over
// all K·L (MagicPIG's probability of colliding in two or more tables).
import { Rng } from '../generate/sampler.js';
import { topKIndices } from './budget.js';

export interface SimHashOptions {
  /** Bits per table (K). */
  bits: number;
  /** Tables (L). */
  tables: number;
  seed: number;
}

/**
 * One seeded Gaussian matrix `[dim][bits·tables]` (Box–Muller over the engine's xoshiro128** generator); column
 * t·K + k is bit k of table t. The authors draw theirs with torch.randn (in bfloat16).
 */
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

/** Each row's bucket in each table: Σ_k bit(t·K + k)·2^k; result `[n][tables]`. */
export function buckets(sig: Uint8Array, n: number, o: Pick<SimHashOptions, 'bits' | 'tables'>): Int32Array {
  const { bits: K, tables: L } = o;
  const out = new Int32Array(n * L);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < L; t++) {
      let h = 0;
      for (let k = K - 1; k >= 0; k--) h = 2 * h + sig[i * K * L + t * K + k];
      out[i * L + t] = h;
    }
  return out;
}

/** Per candidate and table (`[nCand][tables]`, 1 = yes): whether its bucket is one of the question's there. */
export function collisions(
  cand: Int32Array,
  nCand: number,
  query: Int32Array,
  nQuery: number,
  tables: number,
): Uint8Array {
  const inQuery = Array.from({ length: tables }, (_, t) => {
    const set = new Set<number>();
    for (let q = 0; q < nQuery; q++) set.add(query[q * tables + t]);
    return set;
  });
  const out = new Uint8Array(nCand * tables);
  for (let c = 0; c < nCand; c++)
    for (let t = 0; t < tables; t++) out[c * tables + t] = inQuery[t].has(cand[c * tables + t]) ? 1 : 0;
  return out;
}

/** Probability that at least two of L tables of K bits collide when each bit agrees with probability p. */
export function twoTableProbability(p: number, bits: number, tables: number): number {
  const q = p ** bits;
  return 1 - (1 - q) ** tables - tables * q * (1 - q) ** (tables - 1);
}

/** Per candidate, the largest u over the question tokens (p: the share of equal bits over all tables). */
export function uScores(
  cand: Uint8Array,
  nCand: number,
  query: Uint8Array,
  nQuery: number,
  o: Pick<SimHashOptions, 'bits' | 'tables'>,
): Float64Array {
  const width = o.bits * o.tables;
  const out = new Float64Array(nCand).fill(Number.NEGATIVE_INFINITY);
  for (let c = 0; c < nCand; c++)
    for (let q = 0; q < nQuery; q++) {
      let equal = 0;
      for (let b = 0; b < width; b++) equal += cand[c * width + b] === query[q * width + b] ? 1 : 0;
      out[c] = Math.max(out[c], twoTableProbability(equal / width, o.bits, o.tables));
    }
  return out;
}

/**
 * For each candidate signature: its u-score if it collides with the question in ≥ 2 tables (the survivor
 * rule), else −∞.
 */
export function lshRecall(
  cand: Uint8Array,
  nCand: number,
  query: Uint8Array,
  nQuery: number,
  o: Pick<SimHashOptions, 'bits' | 'tables'>,
): Float64Array {
  const L = o.tables;
  const hit = collisions(buckets(cand, nCand, o), nCand, buckets(query, nQuery, o), nQuery, L);
  const u = uScores(cand, nCand, query, nQuery, o);
  return u.map((s, c) => {
    let count = 0;
    for (let t = 0; t < L; t++) count += hit[c * L + t];
    return count >= 2 ? s : Number.NEGATIVE_INFINITY;
  });
}

/**
 * The LSH selector: `k` of the `n` candidate rows `x` (`[n][dim]`), for question rows `q` (`[nQ][dim]`):
 * both centred by the candidates' mean and hashed with `planes`; the survivors with the best u if there are
 * more than k, else every survivor and then the most recent (highest-index) candidates. Indices into x.
 */
export function lshSelect(
  x: Float64Array,
  n: number,
  q: Float64Array,
  nQ: number,
  dim: number,
  k: number,
  planes: Float64Array,
  o: Pick<SimHashOptions, 'bits' | 'tables'>,
): number[] {
  if (k <= 0) return [];
  const centre = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let c = 0; c < dim; c++) centre[c] += x[r * dim + c];
  for (let c = 0; c < dim; c++) centre[c] /= n;
  const scores = lshRecall(
    signatures(x, n, dim, centre, planes),
    n,
    signatures(q, nQ, dim, centre, planes),
    nQ,
    o,
  );
  let survivors = 0;
  for (const s of scores) if (s > Number.NEGATIVE_INFINITY) survivors++;
  const picked = Array.from(topKIndices(scores, Math.min(k, survivors)));
  const taken = new Set(picked);
  for (let r = n - 1; r >= 0 && picked.length < k; r--) if (!taken.has(r)) picked.push(r);
  return picked;
}
