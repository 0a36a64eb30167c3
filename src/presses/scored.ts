// The common shape of the simple baselines: whenever a head holds more than its budget, keep the
// highest-scoring tokens, with the first `sink` tokens (attention sinks, Xiao et al. 2023) always kept.
// Their scores are also open to the wrappers that choose with them (AdaKV, the decoding wrapper).
import type { HeadScorer } from './adakv.js';
import { Budget, type BudgetOptions, overBudget, topKIndices } from './budget.js';
import type { KeepSets, LayerState, StepInfo } from './press.js';

export interface ScoredOptions extends BudgetOptions {
  /** Leading tokens never evicted. */
  sink?: number;
}

export abstract class ScoredPress implements HeadScorer {
  abstract readonly name: string;
  protected readonly budget: Budget;
  readonly sink: number;

  constructor(o: ScoredOptions, name: string, defaultSink: number) {
    this.budget = new Budget(o, name);
    this.sink = o.sink ?? defaultSink;
    if (!Number.isInteger(this.sink) || this.sink < 0)
      throw new RangeError(`${name}: sink must be a whole number >= 0, got ${o.sink}`);
  }

  /** Higher = more worth keeping; one score per kept token of `head`. */
  protected abstract score(state: LayerState, head: number): ArrayLike<number>;

  layerTarget(state: LayerState): number {
    return this.budget.target(state.seen);
  }

  /** Per KV head, `score` with the first `sink` tokens at +∞ (as `compress` ranks them). */
  headScores(state: LayerState, _step: StepInfo): Float64Array[] {
    const target = this.layerTarget(state);
    return Array.from({ length: state.nKvHeads }, (_, h) => {
      const scores = Float64Array.from(this.score(state, h));
      scores.fill(Number.POSITIVE_INFINITY, 0, Math.min(this.sink, target, scores.length));
      return scores;
    });
  }

  compress(state: LayerState, _step: StepInfo): KeepSets | null {
    const target = this.budget.target(state.seen);
    return overBudget(state, target, (h, n) => this.keepOf(state, h, n, target));
  }

  /** What head `head` (`n` tokens, over `target`) keeps: its `target` best scores, the sinks first. */
  protected keepOf(state: LayerState, head: number, n: number, target: number): ArrayLike<number> {
    const scores = Float64Array.from(this.score(state, head));
    const sink = Math.min(this.sink, target, n);
    for (let i = 0; i < sink; i++) scores[i] = Number.POSITIVE_INFINITY;
    return topKIndices(scores, target);
  }
}
