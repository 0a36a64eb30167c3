// Compression while generating, as kvpress's DecodingPress (absolute target, `target_size`) and
// CompressionRatioDecodingPress (a fraction of every token seen so far): a wrapper around any press that scores
// tokens per KV head. Every `interval` decoded tokens (kvpress: compression_interval = 512 steps) each layer asks
// the inner press for its scores and each KV head keeps its top `target` tokens: the budget's absolute count, or
// ⌈seen/ratio⌉. Between two compressions the cache grows by at most interval − 1 tokens past the target, so a
// long generation stays bounded. Over AdaKV the heads share the layer's budget instead (kvpress's
// DecodingPress(AdaKVPress(...))).
//
// By default the inner press also compresses the prompt its own way first, as kvpress's
// PrefillDecodingPress(inner, DecodingPress(inner)), so the cache keeps to its budget from the prompt on;
// `prefill: false` leaves the prompt whole until the first compression, as DecodingPress alone. kvpress counts decode
// forward calls, which are one token each there; here the count is in tokens, because kvsieve may feed several
// tokens as one decode call (a question typed after the context). One-shot presses score at the wrapper's moments
// as at the end of a prefill (StepInfo.prefillDone), with what they observed since their last compression: the
// last w queries for SnapKV, every decoded query for Expected Attention (kvpress hands them at most the last 256
// hidden states).
import { AdaKvPress, adaptiveKeep, type HeadScorer } from './adakv.js';
import { topKIndices } from './budget.js';
import type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from './press.js';

export interface DecodingOptions {
  /** Decoded tokens between two compressions (default 512, kvpress's compression_interval). */
  interval?: number;
  /** Let the inner press compress the prompt too (default true; false: only generated tokens trigger it). */
  prefill?: boolean;
}

export class DecodingPress implements Press {
  readonly name: string;
  readonly compressesGenerated = true;
  readonly interval: number;
  readonly prefill: boolean;
  private readonly scorer: HeadScorer;
  /** Per layer: tokens decoded since its last compression. */
  private counts = new Map<number, number>();

  constructor(
    readonly inner: HeadScorer | AdaKvPress,
    o: DecodingOptions = {},
  ) {
    this.name = `decoding(${inner.name})`;
    this.scorer = inner instanceof AdaKvPress ? inner.inner : inner;
    this.interval = o.interval ?? 512;
    this.prefill = o.prefill ?? true;
    if (!Number.isInteger(this.interval) || this.interval < 1)
      throw new RangeError(`decoding: interval must be a whole number >= 1, got ${o.interval}`);
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
    this.counts.clear();
    this.inner.reset?.();
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (step.phase === 'prefill') return this.prefill ? this.inner.compress(state, step) : null;
    const count = (this.counts.get(state.layer) ?? 0) + step.newTokens;
    if (count < this.interval) {
      this.counts.set(state.layer, count);
      return null;
    }
    this.counts.set(state.layer, 0);
    const target = this.scorer.layerTarget(state);
    let total = 0;
    let over = false;
    for (let h = 0; h < state.nKvHeads; h++) {
      total += state.length(h);
      over ||= state.length(h) > target;
    }
    const adaptive = this.inner instanceof AdaKvPress;
    if (adaptive ? total <= state.nKvHeads * target : !over) return null;
    const scores = this.scorer.headScores(state, { phase: 'decode', newTokens: count, prefillDone: true });
    if (!scores) return null;
    if (this.inner instanceof AdaKvPress) return adaptiveKeep(scores, target, this.inner.safeguard);
    return scores.map((s) => (s.length > target ? topKIndices(s, target) : null));
  }
}
