// TOVA (Oren et al. 2024, arXiv 2401.06104, "Transformers are Multi-State RNNs"): when the cache is over
// its budget, evict the token that the newest query attends to least, with attention averaged over heads (one
// decision for the whole layer, as in kvpress). While decoding that is one token per step; at the end of a
// prefill the surplus goes in one step. The newest token itself is always kept.
//
// Only the newest query's attention is needed: it is computed once per layer and forward call by the
// attention kernel (`LayerState.attend`), never the full probability matrix of a prefill chunk.
import { attendOf, queryWidth } from './attention.js';
import { Budget, type BudgetOptions, topKIndices } from './budget.js';
import {
  type AttentionObservation,
  type KeepSets,
  type LayerState,
  type Press,
  type StepInfo,
  sameForAllHeads,
} from './press.js';

export class TovaPress implements Press {
  readonly name = 'tova';
  readonly wantsQueries = true;
  private readonly budget: Budget;
  /** Per layer: the newest query's attention to each token, averaged over all query heads. */
  private newest = new Map<number, Float64Array>();

  constructor(o: BudgetOptions) {
    this.budget = new Budget(o, 'tova');
  }

  reset(): void {
    this.newest.clear();
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    const width = queryWidth(state);
    const t = obs.nTokens - 1;
    const att = attendOf(state, this.name)(obs.queries.subarray(t * width, (t + 1) * width), 1, [
      obs.positions[t],
    ]);
    this.newest.set(
      layer,
      tovaScores(att.probs, state.nKvHeads * state.groupSize, att.maxKeys, state.length(0)),
    );
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (step.phase === 'prefill' && !step.prefillDone) return null;
    const n = state.length(0);
    const target = this.budget.target(state.seen);
    const scores = this.newest.get(state.layer);
    if (n <= target || !scores) return null;
    // A probe's scores also cover the question's keys, taken out since: keep the context's part.
    const s = Float64Array.from(scores.subarray(0, n));
    s[n - 1] = Number.POSITIVE_INFINITY;
    return sameForAllHeads(state, topKIndices(s, target));
  }
}

/** Mean over `nHeads` rows of one query's probabilities `[nHeads][1][maxKeys]`, for the first `n` keys. */
export function tovaScores(probs: Float32Array, nHeads: number, maxKeys: number, n: number): Float64Array {
  const s = new Float64Array(n);
  for (let h = 0; h < nHeads; h++) for (let j = 0; j < n; j++) s[j] += probs[h * maxKeys + j] / nHeads;
  return s;
}
