// L2KV, the key-norm baseline of the LagKV repository (l2_kv.py): LagKV's lag-partition schedule, but each
// partition keeps its tokens with the lowest key L2 norm; layers 0 and 1 are left alone by default, as there.
import { type LagKvOptions, LagPartitionPress, type PartitionScorer } from './lagkv.js';

const lowKeyNorm: PartitionScorer = (rows, start, L) => {
  const K = rows.keys;
  const d = rows.headDim;
  const s = new Float64Array(L);
  for (let i = 0; i < L; i++) {
    let ss = 0;
    for (let c = 0; c < d; c++) ss += K[(start + i) * d + c] ** 2;
    s[i] = -Math.sqrt(ss);
  }
  return s;
};

export class L2KvPress extends LagPartitionPress {
  constructor(o: LagKvOptions) {
    super('l2kv', o, lowKeyNorm, { sink: 16, lag: 128, skipLayers: [0, 1] });
  }
}
