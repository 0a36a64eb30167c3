// A LayerState over plain arrays, for checking presses on hand-made tensors.
import type { LayerState } from '../../src/presses/press.js';

export function fakeState(o: {
  keys: number[][][];
  values?: number[][][];
  layer?: number;
  nLayers?: number;
  seen?: number;
  groupSize?: number;
}): LayerState {
  const heads = o.keys.length;
  const d = o.keys[0][0]?.length ?? 1;
  const K = o.keys.map((h) => Float32Array.from(h.flat()));
  const V = (o.values ?? o.keys).map((h) => Float32Array.from(h.flat()));
  const P = o.keys.map((h) => Int32Array.from(h.map((_, i) => i)));
  return {
    layer: o.layer ?? 0,
    nLayers: o.nLayers ?? 1,
    nKvHeads: heads,
    groupSize: o.groupSize ?? 1,
    headDim: d,
    seen: o.seen ?? o.keys[0].length,
    length: (h) => o.keys[h].length,
    keys: (h, from = 0) => K[h].subarray(from * d),
    values: (h, from = 0) => V[h].subarray(from * d),
    positions: (h) => P[h],
  };
}
