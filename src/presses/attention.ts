// Shared arithmetic of the attention-scored presses: reading softmax probabilities `[nHeads][nQueries][maxKeys]`
// per KV head (GQA: the query heads of a group share their KV head's decision, so their scores add up), and
// the 1-D pooling SnapKV smooths scores with (average pooling in the authors' code and kvpress; max as a variant).
import type { AttentionProbs, LayerState } from './press.js';

/**
 * Per KV head, the attention each of its tokens received, summed over the group's query heads and over query
 * rows [from, to) of `nQueries`; only the first `keys(h)` tokens of each head are read (default: its length).
 */
export function attentionPerKvHead(
  p: AttentionProbs,
  nQueries: number,
  state: LayerState,
  from = 0,
  to = nQueries,
  keys: (head: number) => number = (h) => state.length(h),
): Float64Array[] {
  const g = state.groupSize;
  return Array.from({ length: state.nKvHeads }, (_, h) => {
    const n = keys(h);
    const s = new Float64Array(n);
    for (let qh = h * g; qh < (h + 1) * g; qh++) {
      for (let t = from; t < to; t++) {
        const o = (qh * nQueries + t) * p.maxKeys;
        for (let j = 0; j < n; j++) s[j] += p.probs[o + j];
      }
    }
    return s;
  });
}

/**
 * Average pooling as torch's `avg_pool1d(x, kernel, stride=1, padding=kernel//2)` (count_include_pad): each
 * output is the sum over the centred window, clipped at the ends, divided by the whole `kernel`.
 */
export function avgPool1d(x: Float64Array, kernel: number): Float64Array {
  const r = kernel >> 1;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let s = 0;
    for (let j = Math.max(0, i - r); j <= Math.min(x.length - 1, i + r); j++) s += x[j];
    out[i] = s / kernel;
  }
  return out;
}

/** Max-pooling with an odd `kernel`, stride 1, centred, no padding values (windows are clipped at the ends). */
export function maxPool1d(x: Float64Array, kernel: number): Float64Array {
  const r = kernel >> 1;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = Math.max(0, i - r); j <= Math.min(x.length - 1, i + r); j++) if (x[j] > m) m = x[j];
    out[i] = m;
  }
  return out;
}

/** The query width of a layer: `nHeads * headDim` floats per token. */
export function queryWidth(state: LayerState): number {
  return state.nKvHeads * state.groupSize * state.headDim;
}

/** `state.attend`, or a clear error for states that cannot score queries (not backed by a model). */
export function attendOf(state: LayerState, press: string): NonNullable<LayerState['attend']> {
  if (!state.attend) throw new Error(`${press}: this layer state cannot compute attention (no backend)`);
  return state.attend.bind(state);
}
