// PyramidKV (Cai et al. 2024, arXiv 2406.02069, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal
// Information Funneling"): lower layers spread their attention widely, higher layers focus it, so the
// budget decreases linearly from the first layer to the last (same total as a uniform budget), and each layer
// selects with SnapKV's window votes. Beyond the window w, layer budgets run from k_max down to
// k_min = m/β, where m is the mean budget beyond the window and k_max = 2m − k_min (β = 20 as in
// kvpress). When the pyramid does not fit (k_max beyond the prompt, or no room beyond the window) every layer falls
// back to the uniform budget, as in kvpress.
import type { LayerState } from './press.js';
import { type SnapKvOptions, SnapKvPress } from './snapkv.js';

export interface PyramidKvOptions extends SnapKvOptions {
  /** Steepness: the last layer gets 1/β of the mean budget beyond the window (default 20). */
  beta?: number;
}

/**
 * Per-layer budgets for `nLayers` layers averaging `target` tokens over `n` prompt tokens with window `w`:
 * linear from the first layer to the last, rounded so that they sum to exactly nLayers·target.
 */
export function pyramidBudgets(
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

  constructor(o: PyramidKvOptions) {
    super(o, 'pyramidkv');
    this.beta = o.beta ?? 20;
    if (!(Number.isFinite(this.beta) && this.beta >= 1))
      throw new RangeError(`pyramidkv: beta must be a number >= 1, got ${o.beta}`);
  }

  override layerTarget(state: LayerState): number {
    const target = this.budget.target(state.seen);
    return pyramidBudgets(state.nLayers, target, state.length(0), this.window, this.beta)[state.layer];
  }
}
