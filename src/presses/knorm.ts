// K-norm (Devoto et al. 2024, "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression"):
// keys with a low L2 norm draw the most attention, so keep the lowest norms (the sink is kept as well).
import type { LayerState } from './press.js';
import { type ScoredOptions, ScoredPress } from './scored.js';

export class KnormPress extends ScoredPress {
  readonly name = 'knorm';
  constructor(o: ScoredOptions) {
    super(o, 'knorm', 4);
  }
  protected score(state: LayerState, head: number): ArrayLike<number> {
    const K = state.keys(head);
    const d = state.headDim;
    const n = state.length(head);
    const s = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      let ss = 0;
      for (let c = 0; c < d; c++) ss += K[t * d + c] * K[t * d + c];
      s[t] = -Math.sqrt(ss);
    }
    return s;
  }
}
