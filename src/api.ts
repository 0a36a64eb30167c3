// kvsieve's library API, the part that runs on every platform: src/index.ts (Node) and src/web/index.ts (the
// browser build) both export it; only how files are read and threads started differs (src/host).
import type { AdaKvPress, HeadScorer } from './presses/adakv.js';
import { type DecodingOptions, DecodingPress } from './presses/decoding.js';
import { type DmsOptions, DmsPress } from './presses/dms.js';
import { type ExpectedAttentionOptions, ExpectedAttentionPress } from './presses/expected-attention.js';
import { FullPress } from './presses/full.js';
import { type KeyDiffOptions, KeyDiffPress } from './presses/keydiff.js';
import { KnormPress } from './presses/knorm.js';
import { L2KvPress } from './presses/l2kv.js';
import { type LagKvOptions, LagKvPress } from './presses/lagkv.js';
import { type RandomOptions, RandomPress } from './presses/random.js';
import type { ScoredOptions } from './presses/scored.js';
import { StreamingLlmPress } from './presses/streaming-llm.js';

export { KvCache } from './cache/kv-cache.js';
export { ChatTemplateError, chatTemplateFromMetadata, renderChat } from './chat/template.js';
export {
  Context,
  type ContextOptions,
  type FinishReason,
  type GeneratedToken,
  type GenerateOptions,
  type PrefillOptions,
} from './generate/context.js';
export { splitAtQuestion, type TokenSplit } from './generate/question.js';
export type { SamplingOptions } from './generate/sampler.js';
export { dequantize, quantize } from './gguf/quants.js';
export { type GgufFile, Metadata, openGguf, parseGguf } from './gguf/reader.js';
export { type ByteSource, bufferSource } from './gguf/source.js';
export * from './gguf/types.js';
export type { ModelConfig } from './model/config.js';
export { type BackendName, type LoadOptions, loadModel, Model, type ModelSource } from './model/model.js';
export { AdaKvPress } from './presses/adakv.js';
export {
  describePresses,
  formatPressText,
  type PressDescription,
  type PressOption,
  type PressSpec,
  parsePressText,
  pressFromSpec,
  pressNames,
  pressOptions,
} from './presses/index.js';
export type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from './presses/press.js';
export { Tokenizer } from './tokenizer/tokenizer.js';
export type {
  DecodingOptions,
  DmsOptions,
  ExpectedAttentionOptions,
  HeadScorer,
  KeyDiffOptions,
  LagKvOptions,
  RandomOptions,
  ScoredOptions,
};

/** No compression. */
export const full = (): FullPress => new FullPress();
/** LagKV (arXiv 2504.04704): `lagkv({ ratio: 4 })`, options sink (16), lag (128), mode, useThenCompress. */
export const lagkv = (o: LagKvOptions): LagKvPress => new LagKvPress(o);
/** L2KV, LagKV's key-norm baseline. */
export const l2kv = (o: LagKvOptions): L2KvPress => new L2KvPress(o);
/** StreamingLLM: sink + recent tokens. */
export const streamingLlm = (o: ScoredOptions): StreamingLlmPress => new StreamingLlmPress(o);
/** K-norm: lowest key norms. */
export const knorm = (o: ScoredOptions): KnormPress => new KnormPress(o);
/** Seeded random eviction. */
export const randomPress = (o: RandomOptions): RandomPress => new RandomPress(o);
/** KeyDiff (arXiv 2504.15364): keys least similar to the mean key, block-wise (blockSize 128). */
export const keydiff = (o: KeyDiffOptions): KeyDiffPress => new KeyDiffPress(o);
/** Expected Attention (arXiv 2510.00636): `expectedAttention({ ratio: 4 })`; nFuture 512, nSink 4, epsilon 0. */
export const expectedAttention = (o: ExpectedAttentionOptions): ExpectedAttentionPress =>
  new ExpectedAttentionPress(o);
/**
 * Compression while generating (kvpress's DecodingPress): `decoding(keydiff({ budget: 512 }), { interval: 64 })`
 * keeps each head at 512 tokens, compressing every 64 generated tokens (and the prompt, unless prefill: false).
 */
export const decoding = (inner: HeadScorer | AdaKvPress, o?: DecodingOptions): DecodingPress =>
  new DecodingPress(inner, o);
/**
 * DMS-style threshold eviction (kvpress's DMSPress): `dms(knorm({ ratio: 1, sink: 0 }), { threshold: -4 })`
 * scores each token on arrival and evicts it below the threshold once it leaves a 128-token window. No budget:
 * the threshold (on the inner press's scale) decides how much stays. Library only until presses take options.
 */
export const dms = (inner: HeadScorer, o: DmsOptions): DmsPress => new DmsPress(inner, o);
