// How much a press keeps: a compression ratio (ratio 4 keeps about a quarter of the tokens seen) or an
// absolute token budget per KV head. Validated up front so a bad option fails before any work is done.
import type { KeepSets, LayerState } from './press.js';

export interface BudgetOptions {
  /** Keep about 1/ratio of the tokens seen (ratio >= 1; 1 = keep everything). */
  ratio?: number;
  /** Keep at most this many tokens per KV head (>= 1). */
  budget?: number;
}

export class Budget {
  readonly ratio?: number;
  readonly budget?: number;

  constructor(o: BudgetOptions, press: string) {
    if (o.ratio !== undefined && o.budget !== undefined)
      throw new RangeError(`${press}: give ratio or budget, not both`);
    if (o.ratio === undefined && o.budget === undefined)
      throw new RangeError(`${press}: needs a ratio or a budget`);
    if (o.ratio !== undefined && !(Number.isFinite(o.ratio) && o.ratio >= 1)) {
      throw new RangeError(`${press}: ratio must be a number >= 1 (4 keeps about a quarter), got ${o.ratio}`);
    }
    if (o.budget !== undefined && !(Number.isInteger(o.budget) && o.budget >= 1)) {
      throw new RangeError(`${press}: budget must be a whole number of tokens >= 1, got ${o.budget}`);
    }
    this.ratio = o.ratio;
    this.budget = o.budget;
  }

  /** Tokens a head may hold after `seen` tokens went through the cache. */
  target(seen: number): number {
    if (this.budget !== undefined) return this.budget;
    return Math.ceil(seen / (this.ratio as number));
  }

  get label(): string {
    return this.budget !== undefined ? `budget ${this.budget}` : `ratio ${this.ratio}`;
  }
}

/**
 * Per KV head: null where the head holds at most `target` tokens, else what `keepOf(head, length)` keeps;
 * null for the layer when no head is over.
 */
export function overBudget(
  state: LayerState,
  target: number,
  keepOf: (head: number, length: number) => ArrayLike<number>,
): KeepSets | null {
  let changed = false;
  const keep: KeepSets = [];
  for (let h = 0; h < state.nKvHeads; h++) {
    const n = state.length(h);
    const over = n > target;
    changed ||= over;
    keep.push(over ? keepOf(h, n) : null);
  }
  return changed ? keep : null;
}

/** Indices of the k largest scores, returned in increasing index order (ties: earlier index wins). */
export function topKIndices(scores: ArrayLike<number>, k: number): Int32Array {
  const n = scores.length;
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  if (k <= 0) return new Int32Array(0);
  // The k-th largest score, selected in a copy (Hoare's quickselect: linear, where a sort was n log n), then
  // one pass in index order: every score above it, and as many equal to it as are still needed, earliest
  // first. The same set as sorting the indices by score with a comparator, at a fraction of the cost (presses
  // that evict while decoding call this for every head of every layer at every step).
  // slice where it can: it skips zeroing fresh memory that the copy overwrites anyway.
  const copy = scores instanceof Float64Array ? scores.slice() : Float64Array.from(scores);
  for (let i = 0; i < n; i++) if (Number.isNaN(copy[i])) return topKByComparator(scores, k);
  const threshold = select(copy, n - k);
  let above = 0;
  for (let i = 0; i < n; i++) if (scores[i] > threshold) above++;
  let ties = k - above;
  const out = new Int32Array(k);
  let m = 0;
  for (let i = 0; i < n && m < k; i++) {
    const s = scores[i];
    if (s > threshold || (s === threshold && ties-- > 0)) out[m++] = i;
  }
  return out;
}

/** The value that would sit at index `r` if `a` (no NaNs) were sorted ascending; reorders `a`. */
function select(a: Float64Array, r: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three as the pivot, then Hoare's partition: [lo, j] ≤ pivot ≤ [i, hi].
    const mid = (lo + hi) >> 1;
    const pivot = Math.max(Math.min(a[lo], a[mid]), Math.min(Math.max(a[lo], a[mid]), a[hi]));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (r <= j) hi = j;
    else if (r >= i) lo = i;
    else return a[r];
  }
  return a[r];
}

/** topKIndices where a score is NaN: the indices sorted by score with a comparator (NaNs fall where they fall). */
function topKByComparator(scores: ArrayLike<number>, k: number): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.subarray(0, k).sort();
}
