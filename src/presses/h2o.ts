// H2O (Zhang et al. 2023, arXiv 2306.14048, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference"),
// Algorithm 1: every cached token accumulates the attention it receives from all queries so far
// (prefill and decode); per KV head (summing its group's query heads), the cache keeps the heavy hitters
// (half the budget) and the most recent tokens (the other half), evicting the lowest accumulated score
// whenever it is over budget.
//
// This is the one press that needs every query's attention. It asks for the attention each key received in
// every forward call, summed over its KV head's query heads and the call's queries (`wantsKeySums`), which the
// attention kernel adds up as it goes instead of writing the whole probability matrix.
import { Budget, type BudgetOptions, topKIndices } from './budget.js';
import type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from './press.js';

export class H2oPress implements Press {
  readonly name = 'h2o';
  readonly wantsKeySums = true;
  private readonly budget: Budget;
  /** Per layer and KV head: accumulated attention, aligned with the head's current token list. */
  private acc = new Map<number, Float64Array[]>();

  constructor(o: BudgetOptions) {
    this.budget = new Budget(o, 'h2o');
  }

  reset(): void {
    this.acc.clear();
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    const sums = obs.keySums;
    if (!sums) return;
    const add = Array.from({ length: state.nKvHeads }, (_, h) =>
      Float64Array.from(sums.subarray(h * obs.maxKeys, h * obs.maxKeys + state.length(h))),
    );
    const old = this.acc.get(layer);
    this.acc.set(
      layer,
      add.map((a, h) => {
        // Tokens appended since (and a probe's own keys, dropped again later) start from zero.
        const prev = old?.[h];
        if (prev) for (let j = 0; j < Math.min(prev.length, a.length); j++) a[j] += prev[j];
        return a;
      }),
    );
  }

  compress(state: LayerState, _step: StepInfo): KeepSets | null {
    const target = this.budget.target(state.seen);
    const acc = this.acc.get(state.layer) ?? [];
    let changed = false;
    const keep: KeepSets = [];
    for (let h = 0; h < state.nKvHeads; h++) {
      const n = state.length(h);
      const scores = new Float64Array(n);
      scores.set((acc[h] ?? scores).subarray(0, n));
      if (n <= target) {
        acc[h] = scores;
        keep.push(null);
        continue;
      }
      changed = true;
      const recent = target - Math.floor(target / 2);
      const ranked = Float64Array.from(scores);
      ranked.fill(Number.POSITIVE_INFINITY, n - recent);
      const k = topKIndices(ranked, target);
      acc[h] = Float64Array.from(k, (i) => scores[i]);
      keep.push(k);
    }
    this.acc.set(state.layer, acc);
    return changed ? keep : null;
  }
}
