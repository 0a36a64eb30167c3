// PyramidKV (Cai et al. 2024, arXiv 2406.02069, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal
// Information Funneling"): lower layers spread their attention widely, higher layers focus it, so the
// budget decreases linearly from the first layer to the last, and each layer selects with SnapKV's window
// votes.
//
// Layer budgets follow kvpress's PyramidKVPress.get_layer_budget (itself from the authors' KVCache-Factory),
// with T the mean budget (n/r for ratio r, i.e. kvpress's n·(1 − compression_ratio) with compression_ratio
// = 1 − 1/r): k_min = T/β and k_max = 2T − k_min, the window inside each layer's budget; when k_max exceeds
// n − w it is clamped there and k_min = 2T − k_max; unless n ≥ k_max ≥ k_min ≥ w, every layer gets round(T)
// (so the pyramid only applies when T ≥ β·w: 640 kept tokens at β = 20, w = 32); otherwise layer l keeps
// round(k_max − l·(k_max − k_min)/(L − 1)). Rounding is Python's (half to even). `layout: 'linear'` is
// kvsieve's earlier variant: the window outside the pyramid, budgets summing exactly to L·T.
import { type LayerState, roundHalfEven } from './press.js';
import { type SnapKvOptions, SnapKvPress } from './snapkv.js';

export interface PyramidKvOptions extends SnapKvOptions {
  /** Steepness: the last layer gets about 1/β of the mean budget (default 20). */
  beta?: number;
  /** 'kvpress' (default) or 'linear' (the window outside the pyramid, exact total). */
  layout?: 'kvpress' | 'linear';
}

/**
 * kvpress's per-layer budgets for `nLayers` layers with mean budget `T` (real-valued) over `n` prompt tokens,
 * window `w` and steepness `beta`.
 */
export function kvpressPyramidBudgets(
  nLayers: number,
  T: number,
  n: number,
  w: number,
  beta: number,
): number[] {
  let min = T / beta;
  let max = 2 * T - min;
  if (max >= n - w) {
    max = n - w;
    min = 2 * T - max;
  }
  if (nLayers < 2 || !(n >= max && max >= min && min >= w)) return new Array(nLayers).fill(roundHalfEven(T));
  const steps = (max - min) / (nLayers - 1);
  return Array.from({ length: nLayers }, (_, l) => roundHalfEven(max - l * steps));
}

/**
 * kvsieve's earlier layout: beyond the window w, budgets run linearly from k_max down to k_min = m/β (m = target
 * − w, k_max = 2m − k_min), rounded so that they sum to exactly nLayers·target; uniform when the pyramid does
 * not fit (k_max beyond the prompt, or no room beyond the window).
 */
export function linearPyramidBudgets(
  nLayers: number,
  target: number,
  n: number,
  w: number,
  beta: number,
): number[] {
  const m = target - w;
  const min = m / beta;
  const max = 2 * m - min;
  if (nLayers < 2 || m <= 0 || w + max > n) return new Array(nLayers).fill(target);
  const step = (max - min) / (nLayers - 1);
  // Rounding the running sum keeps the total exact: Σ (round(c_{l+1}) − round(c_l)) = round(L·m) = L·m.
  let sum = 0;
  return Array.from({ length: nLayers }, (_, l) => {
    const before = Math.round(sum);
    sum += max - l * step;
    return w + Math.round(sum) - before;
  });
}

export class PyramidKvPress extends SnapKvPress {
  readonly beta: number;
  readonly layout: 'kvpress' | 'linear';

  constructor(o: PyramidKvOptions) {
    super(o, 'pyramidkv');
    this.beta = o.beta ?? 20;
    if (!(Number.isFinite(this.beta) && this.beta >= 1))
      throw new RangeError(`pyramidkv: beta must be a number >= 1, got ${o.beta}`);
    this.layout = o.layout ?? 'kvpress';
    if (this.layout !== 'kvpress' && this.layout !== 'linear')
      throw new RangeError(`pyramidkv: layout must be kvpress or linear, got ${o.layout}`);
  }

  override layerTarget(state: LayerState): number {
    const n = state.length(0);
    if (this.layout === 'linear') {
      const target = this.budget.target(state.seen);
      return linearPyramidBudgets(state.nLayers, target, n, this.window, this.beta)[state.layer];
    }
    const T = this.budget.budget ?? state.seen / (this.budget.ratio as number);
    return kvpressPyramidBudgets(state.nLayers, T, n, this.window, this.beta)[state.layer];
  }
}
