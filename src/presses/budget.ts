// How much a press keeps: a compression ratio (ratio 4 keeps about a quarter of the tokens seen) or an
// absolute token budget per KV head. Validated up front so a bad option fails before any work is done.

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

/** Indices of the k largest scores, returned in increasing index order (ties: earlier index wins). */
export function topKIndices(scores: ArrayLike<number>, k: number): Int32Array {
  const n = scores.length;
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.subarray(0, Math.max(0, k)).sort();
}
