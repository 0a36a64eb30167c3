// Threshold eviction in the style of Dynamic Memory Sparsification (Łańcucki et al. 2025, arXiv 2506.05345,
// "Inference-Time Hyper-Scaling with KV Cache Compression"), as kvpress's DMSPress runs it without DMS's trained
// evictors: each token is scored once, when it enters the cache, by an inner press that sees only the tokens
// just appended; the newest `window` tokens (128) are protected, and a token leaving that window is evicted when
// its score is below `threshold`. No budget: heads and inputs keep different, content-dependent counts (kvpress
// pairs it with KVzap's learned scores, threshold −4 on a log scale; any press that scores tokens works here).
// During the prompt only by default (kvpress: decoding=False); `decoding: true` keeps evicting while generating.
// A library press for now (`dms()` in src/index.ts): without a threshold it has nothing to decide with, and the
// registry builds presses from a ratio or budget alone.
// A new prompt starts a new buffer, as kvpress resets it at each prefill: the window's last tokens of the previous
// one are never judged.
import type { HeadScorer } from './adakv.js';
import type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from './press.js';

export interface DmsOptions {
  /** Tokens whose score is below this are evicted once they leave the window (required; scale of the scorer). */
  threshold: number;
  /** Newest tokens never evicted (default 128, kvpress's sliding_window_size). */
  window?: number;
  /** Also evict while generating (default false). */
  decoding?: boolean;
}

interface Pending {
  position: number;
  score: number;
}

export class DmsPress implements Press {
  readonly name: string;
  readonly threshold: number;
  readonly window: number;
  readonly decoding: boolean;
  /** Per layer and KV head: the tokens not judged yet, oldest first. */
  private pending = new Map<number, Pending[][]>();
  /** Per layer and KV head: the newest position scored (a probe's compression must not score again). */
  private scored = new Map<number, number[]>();
  /** Whether the next prefill step starts a new prompt (the last step ended one, or was a decode step). */
  private fresh = new Map<number, boolean>();

  constructor(
    readonly inner: HeadScorer,
    o: DmsOptions,
  ) {
    this.name = `dms(${inner.name})`;
    this.threshold = o.threshold;
    this.window = o.window ?? 128;
    this.decoding = o.decoding ?? false;
    if (typeof this.threshold !== 'number' || Number.isNaN(this.threshold))
      throw new RangeError(`dms: needs a threshold (a number on the scale of ${inner.name}'s scores)`);
    if (!Number.isInteger(this.window) || this.window < 0)
      throw new RangeError(`dms: window must be a whole number >= 0, got ${o.window}`);
  }

  get wantsQueries(): boolean | undefined {
    return this.inner.wantsQueries;
  }
  get wantsPreRopeQueries(): boolean | undefined {
    return this.inner.wantsPreRopeQueries;
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    this.inner.observe?.(layer, obs, state);
  }

  reset(): void {
    this.pending.clear();
    this.scored.clear();
    this.fresh.clear();
    this.inner.reset?.();
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    const layer = state.layer;
    const decode = step.phase === 'decode';
    if (decode && !this.decoding) {
      // Generated tokens are never judged: mark them as seen.
      this.fresh.set(layer, true);
      const last = this.scored.get(layer);
      if (last)
        for (let h = 0; h < state.nKvHeads; h++) {
          const P = state.positions(h);
          if (P.length > 0) last[h] = P[P.length - 1];
        }
      return null;
    }
    if (!decode && (this.fresh.get(layer) ?? true)) this.pending.delete(layer);
    this.fresh.set(layer, step.prefillDone);
    const H = state.nKvHeads;
    const positions = Array.from({ length: H }, (_, h) => state.positions(h));
    const last = this.scored.get(layer) ?? new Array(H).fill(-1);
    this.scored.set(layer, last);
    // The tokens appended since the last call: those past the newest position already scored.
    const added = positions.map((P, h) => {
      let q = 0;
      while (q < P.length && P[P.length - 1 - q] > last[h]) q++;
      return q;
    });
    const scores = added.some((q) => q > 0)
      ? this.inner.headScores(newest(state, added), { ...step, prefillDone: true })
      : null;
    const pending = this.pending.get(layer) ?? Array.from({ length: H }, (): Pending[] => []);
    this.pending.set(layer, pending);
    let changed = false;
    const keep: KeepSets = pending.map((queue, h) => {
      const P = positions[h];
      const n = P.length;
      const q = added[h];
      for (let i = 0; i < q; i++)
        queue.push({ position: P[n - q + i], score: scores?.[h][i] ?? Number.POSITIVE_INFINITY });
      if (q > 0) last[h] = P[n - 1];
      const judged = queue.splice(0, Math.max(0, queue.length - this.window));
      const evict = new Set(judged.filter((p) => p.score < this.threshold).map((p) => p.position));
      if (evict.size === 0) return null;
      changed = true;
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (!evict.has(P[i])) idx.push(i);
      return idx;
    });
    return changed ? keep : null;
  }
}

/** The last `q[h]` tokens of each head of `state`, as a layer state of their own. */
function newest(state: LayerState, q: number[]): LayerState {
  const d = state.headDim;
  const tail = <T extends Float32Array | Int32Array>(a: T, h: number, w: number) =>
    a.subarray((state.length(h) - q[h]) * w, state.length(h) * w) as T;
  return {
    layer: state.layer,
    nLayers: state.nLayers,
    nKvHeads: state.nKvHeads,
    groupSize: state.groupSize,
    headDim: d,
    seen: state.seen,
    length: (h) => q[h],
    keys: (h, from = 0) => state.keys(h, state.length(h) - q[h] + from),
    values: (h, from = 0) => state.values(h, state.length(h) - q[h] + from),
    positions: (h) => tail(state.positions(h), h, 1),
  };
}
