// SnapKV (Li et al. 2024, arXiv 2404.14469, "SnapKV: LLM Knows What You are Looking for Before Generation"),
// the queries of an observation window (the last w = 32 prompt tokens, the authors' default; kvpress uses 64)
// vote for the prefix tokens they attend to; votes are summed over the window and the KV head's query group,
// smoothed by 1-D average pooling (kernel 5, `avg_pool1d` with zero padding as in the authors' code and
// kvpress) so that a selected token brings its neighbours, and each KV head keeps its top-k prefix tokens plus
// the window (the window inside the budget, as in kvpress). Summing instead of kvpress's means scales every
// head alike, so the choice is the same. `pooling: 'max'` is kvsieve's earlier max-pooling variant. One shot
// at the end of the prefill; decoded tokens are then appended uncompressed (as in the paper and kvpress).
//
// Query-aware mode: the question is the observation window. Its attention is taken during the probe (so the
// softmax also covers the question's own keys, as when the question follows the context), pooled the same
// way, and every context token is a candidate.
//
// Only the window's queries are kept while prefilling (a copy of w rows per layer); their attention is
// computed once, at the end, by the attention kernel (`LayerState.attend`): no probabilities otherwise.
import type { HeadScorer } from './adakv.js';
import { attendOf, attentionPerKvHead, avgPool1d, maxPool1d, queryWidth } from './attention.js';
import { Budget, type BudgetOptions, topKIndices } from './budget.js';
import type { AttentionObservation, KeepSets, LayerState, StepInfo } from './press.js';

export interface SnapKvOptions extends BudgetOptions {
  /** Observation window w: the last prompt tokens whose queries vote (default 32). */
  window?: number;
  /** Pooling kernel over positions, odd (default 5). */
  kernel?: number;
  /** 'avg' (the authors' and kvpress's, default) or 'max'. */
  pooling?: 'avg' | 'max';
}

interface Window {
  queries: Float32Array;
  positions: Int32Array;
  n: number;
}

export class SnapKvPress implements HeadScorer {
  readonly name: string = 'snapkv';
  readonly wantsQueries = true;
  readonly window: number;
  readonly kernel: number;
  readonly pooling: 'avg' | 'max';
  protected readonly budget: Budget;
  /** Per layer: queries and positions of the last `window` tokens fed (not probes). */
  private recent = new Map<number, Window>();
  /** Per layer: the question's first position and, per KV head, its attention to each context token. */
  private probed = new Map<number, { start: number; scores: Float64Array[] }>();

  constructor(o: SnapKvOptions, name = 'snapkv') {
    this.name = name;
    this.budget = new Budget(o, name);
    this.window = o.window ?? 32;
    this.kernel = o.kernel ?? 5;
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new RangeError(`${name}: window must be a whole number >= 1, got ${o.window}`);
    if (!Number.isInteger(this.kernel) || this.kernel < 1 || this.kernel % 2 === 0)
      throw new RangeError(`${name}: kernel must be an odd whole number >= 1, got ${o.kernel}`);
    this.pooling = o.pooling ?? 'avg';
    if (this.pooling !== 'avg' && this.pooling !== 'max')
      throw new RangeError(`${name}: pooling must be avg or max, got ${o.pooling}`);
  }

  private pool(x: Float64Array): Float64Array {
    return this.pooling === 'avg' ? avgPool1d(x, this.kernel) : maxPool1d(x, this.kernel);
  }

  reset(): void {
    this.recent.clear();
    this.probed.clear();
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    if (obs.probe) {
      // Context tokens are those before the question's first position; the probe's keys follow them.
      const acc = this.probed.get(layer);
      const start = acc?.start ?? obs.positions[0];
      const att = attendOf(state, this.name)(obs.queries, obs.nTokens, obs.positions);
      const add = attentionPerKvHead(att, obs.nTokens, state, 0, obs.nTokens, (h) => {
        const P = state.positions(h);
        let n = state.length(h);
        while (n > 0 && P[n - 1] >= start) n--;
        return n;
      });
      if (acc) {
        for (let h = 0; h < add.length; h++)
          for (let j = 0; j < add[h].length; j++) acc.scores[h][j] += add[h][j];
      } else this.probed.set(layer, { start, scores: add });
      return;
    }
    const w = this.window;
    const width = queryWidth(state);
    const old = this.recent.get(layer) ?? {
      queries: new Float32Array(0),
      positions: new Int32Array(0),
      n: 0,
    };
    const take = Math.min(obs.nTokens, w);
    const fromOld = Math.min(old.n, w - take);
    const queries = new Float32Array((fromOld + take) * width);
    const positions = new Int32Array(fromOld + take);
    queries.set(old.queries.subarray((old.n - fromOld) * width, old.n * width));
    queries.set(obs.queries.subarray((obs.nTokens - take) * width, obs.nTokens * width), fromOld * width);
    positions.set(old.positions.subarray(old.n - fromOld, old.n));
    positions.set(obs.positions.subarray(obs.nTokens - take, obs.nTokens), fromOld);
    this.recent.set(layer, { queries, positions, n: fromOld + take });
  }

  /** Tokens each KV head of this layer keeps. */
  layerTarget(state: LayerState): number {
    return this.budget.target(state.seen);
  }

  /**
   * At the end of a prefill, per KV head: the pooled window votes for each prefix token and +∞ for the window
   * (always kept); in query-aware mode the question's pooled votes for every context token.
   */
  headScores(state: LayerState, step: StepInfo): Float64Array[] | null {
    if (!step.prefillDone) return null;
    const probed = this.probed.get(state.layer);
    if (probed) {
      this.probed.delete(state.layer);
      return probed.scores.map((s) => this.pool(s));
    }
    const win = this.recent.get(state.layer);
    if (!win) return null;
    const att = attendOf(state, this.name)(win.queries, win.n, win.positions);
    const first = win.positions[0];
    return attentionPerKvHead(att, win.n, state).map((s, h) => {
      const P = state.positions(h);
      let prefix = 0;
      while (prefix < s.length && P[prefix] < first) prefix++;
      const scores = new Float64Array(s.length).fill(Number.POSITIVE_INFINITY);
      scores.set(this.pool(s.subarray(0, prefix)));
      return scores;
    });
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (!step.prefillDone) return null;
    const target = this.layerTarget(state);
    let over = false;
    for (let h = 0; h < state.nKvHeads; h++) over ||= state.length(h) > target;
    if (!over) {
      this.probed.delete(state.layer);
      return null;
    }
    const scores = this.headScores(state, step);
    if (!scores) return null;
    return scores.map((s) => (s.length > target ? topKIndices(s, target) : null));
  }
}
