// StreamingLLM (Xiao et al. 2023, "Efficient Streaming Language Models with Attention Sinks"): keep the
// first `sink` tokens and the most recent ones.
import type { LayerState } from './press.js';
import { type ScoredOptions, ScoredPress } from './scored.js';

export class StreamingLlmPress extends ScoredPress {
  readonly name = 'streaming';
  constructor(o: ScoredOptions) {
    super(o, 'streaming', 4);
  }
  protected score(state: LayerState, head: number): ArrayLike<number> {
    return state.positions(head);
  }
}
