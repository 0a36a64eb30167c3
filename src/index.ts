// kvsieve's library API.
//
//   import { Model, lagkv } from 'kvsieve';
//   const model = await Model.load('model.gguf');
//   const ctx = model.createContext({ press: lagkv({ ratio: 4 }) });
//   for await (const t of ctx.generate('Once upon a time', { maxTokens: 64 })) process.stdout.write(t.text);
import { FullPress } from './presses/full.js';
import { KnormPress } from './presses/knorm.js';
import { L2KvPress } from './presses/l2kv.js';
import { type LagKvOptions, LagKvPress } from './presses/lagkv.js';
import { type RandomOptions, RandomPress } from './presses/random.js';
import type { ScoredOptions } from './presses/scored.js';
import { StreamingLlmPress } from './presses/streaming-llm.js';

export { KvCache } from './cache/kv-cache.js';
export { ChatTemplateError, chatTemplateFromMetadata, renderChat } from './chat/template.js';
export { convertLlama2c } from './convert/llama2c.js';
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
export { type GgufFile, Metadata, openGguf } from './gguf/reader.js';
export * from './gguf/types.js';
export { kv, kvOf, serializeGguf, writeGguf } from './gguf/writer.js';
export type { ModelConfig } from './model/config.js';
export { type BackendName, type LoadOptions, loadModel, Model } from './model/model.js';
export { type SyntheticModelSpec, writeSyntheticModel } from './model/synthetic.js';
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
export type { LagKvOptions, RandomOptions, ScoredOptions };

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
