// StreamingLLM (Xiao et al. 2023, "Efficient Streaming Language Models with Attention Sinks"): keep the
// first `sink` tokens and the most recent ones.
import type { LayerState } from './press.js';
import { type ScoredOptions, ScoredPress } from './scored.js';

export class StreamingLlmPress extends ScoredPress {
  readonly name = 'streaming';
  constructor(o: ScoredOptions) {
    super(o, 'streaming', 4);
  }
  /** Its score is the position (what AdaKV and the decoding wrapper rank with). */
  protected score(state: LayerState, head: number): ArrayLike<number> {
    return state.positions(head);
  }

  /**
   * The top `target` positions, sinks first, without ranking them: positions increase along a head, so they
   * are the sinks and the newest tokens. The same sets as ranking (tested), without a score array and a
   * selection per head at every decode step.
   */
  protected override keepOf(_state: LayerState, _head: number, n: number, target: number): ArrayLike<number> {
    const sink = Math.min(this.sink, target);
    const k = new Int32Array(target);
    for (let i = 0; i < sink; i++) k[i] = i;
    for (let i = sink; i < target; i++) k[i] = n - target + i;
    return k;
  }
}
