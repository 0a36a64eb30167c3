// AdaKV (Feng et al. 2024, arXiv 2407.11550, "Ada-KV: Optimizing KV Cache Eviction by Adaptive Budget
// Allocation"), Algorithm 1: a layer's budget (per-head budget × KV heads) is shared among its heads by one
// top-k over all heads' scores, so heads with concentrated attention give slots to heads with spread attention.
// The safeguard (α = 0.2, kvpress's default) first guarantees each head its own top ⌊α·b⌋ tokens, b the
// mean per-head budget. Heads then hold different counts, and the cache frees what each head evicts.
import { topKIndices } from './budget.js';
import type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from './press.js';

/** A press that scores each KV head's tokens, so that AdaKV can reallocate its budget across heads. */
export interface HeadScorer extends Press {
  /** At a compression moment, per KV head one score per token (higher = keep, +∞ = always); else null. */
  headScores(state: LayerState, step: StepInfo): Float64Array[] | null;
  /** Tokens per KV head the press itself would keep in this layer (AdaKV's mean per-head budget). */
  layerTarget(state: LayerState): number;
}

export interface AdaKvOptions {
  /** Share of the mean per-head budget each head is guaranteed (default 0.2). */
  safeguard?: number;
}

export class AdaKvPress implements Press {
  readonly name: string;
  readonly safeguard: number;

  constructor(
    readonly inner: HeadScorer,
    o: AdaKvOptions = {},
  ) {
    this.name = `adakv(${inner.name})`;
    this.safeguard = o.safeguard ?? 0.2;
    if (!(this.safeguard >= 0 && this.safeguard <= 1))
      throw new RangeError(`adakv: safeguard must be in [0, 1], got ${o.safeguard}`);
  }

  get wantsQueries(): boolean | undefined {
    return this.inner.wantsQueries;
  }
  get wantsPreRopeQueries(): boolean | undefined {
    return this.inner.wantsPreRopeQueries;
  }
  get wantsProbs(): boolean | undefined {
    return this.inner.wantsProbs;
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    this.inner.observe?.(layer, obs, state);
  }

  reset(): void {
    this.inner.reset?.();
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    const target = this.inner.layerTarget(state);
    const H = state.nKvHeads;
    let total = 0;
    for (let h = 0; h < H; h++) total += state.length(h);
    const scores = this.inner.headScores(state, step);
    if (!scores || total <= H * target) return null;
    return adaptiveKeep(scores, target, this.safeguard);
  }
}

/**
 * Keeps H·target tokens of a layer: each head's top ⌊safeguard·target⌋ first, then the best of the rest over
 * all heads together (ties: lower head, then earlier token). Returns sorted indices per head.
 */
export function adaptiveKeep(scores: Float64Array[], target: number, safeguard: number): KeepSets {
  const safe = Math.floor(safeguard * target);
  const boosted = scores.map((s) => {
    const b = Float64Array.from(s);
    for (const i of topKIndices(s, safe)) b[i] = Number.POSITIVE_INFINITY;
    return b;
  });
  const all: { h: number; i: number; s: number }[] = [];
  boosted.forEach((b, h) => {
    for (let i = 0; i < b.length; i++) all.push({ h, i, s: b[i] });
  });
  all.sort((a, b) => b.s - a.s || a.h - b.h || a.i - b.i);
  const keep: number[][] = scores.map(() => []);
  for (const { h, i } of all.slice(0, scores.length * target)) keep[h].push(i);
  return keep.map((k) => Int32Array.from(k).sort());
}
