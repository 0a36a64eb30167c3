// A generation context: one KV cache and the tokens that went into it. Prompts are prefilled in chunks;
// tokens stream out of an async iterator that honours an AbortSignal and stop strings.
import { KvCache } from '../cache/kv-cache.js';
import type { Model } from '../model/model.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopMatcher } from './stop.js';

export interface ContextOptions {
  /** Largest position the context may reach (default: the model's trained context length). */
  contextSize?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (default 256). */
  maxTokens?: number;
  /** Generation ends before the first occurrence of any of these strings. */
  stop?: string[];
  signal?: AbortSignal;
  /** Prepend BOS etc. as the model's tokenizer says (default: true when the context is empty). */
  addSpecial?: boolean;
  /** Recognise special-token texts such as `<|im_start|>` in the prompt (default true). */
  parseSpecial?: boolean;
  /** Called after each prefill chunk with tokens done so far and the prompt's length. */
  onPrefill?: (done: number, total: number) => void;
}

export interface GeneratedToken {
  id: number;
  /** Text this token completes (may be empty while a multi-byte character or a possible stop string is pending). */
  text: string;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export class Context {
  readonly cache: KvCache;
  /** Every token fed to the model, in order. */
  readonly tokens: number[] = [];
  readonly contextSize: number;
  finishReason: FinishReason | undefined;
  private lastLogits: Float32Array | undefined;

  constructor(
    readonly model: Model,
    opts: ContextOptions = {},
  ) {
    const cfg = model.config;
    this.contextSize = opts.contextSize ?? cfg.contextLength;
    if (!Number.isInteger(this.contextSize) || this.contextSize < 1) {
      throw new RangeError(`contextSize must be a positive whole number, got ${opts.contextSize}`);
    }
    this.cache = new KvCache(model.backend.heap, {
      nLayers: cfg.nLayers,
      nKvHeads: cfg.nKvHeads,
      headDim: cfg.headDim,
    });
  }

  /** Feeds tokens through the model (chunked) and returns the logits after the last one. */
  evaluate(tokens: readonly number[], onChunk?: (done: number) => void): Float32Array {
    if (tokens.length === 0) throw new RangeError('nothing to evaluate');
    const start = this.tokens.length;
    if (start + tokens.length > this.contextSize) {
      throw new RangeError(
        `${tokens.length} tokens after ${start} exceed the context size of ${this.contextSize} tokens`,
      );
    }
    const T = this.model.transformer;
    let logits: Float32Array | undefined;
    for (let i = 0; i < tokens.length; i += T.maxBatch) {
      const chunk = tokens.slice(i, i + T.maxBatch);
      const positions = chunk.map((_, j) => start + i + j);
      const last = i + chunk.length === tokens.length;
      logits = T.forward(chunk, positions, this.cache, last ? 'last' : 'none');
      this.tokens.push(...chunk);
      onChunk?.(i + chunk.length);
    }
    this.lastLogits = logits;
    return logits as Float32Array;
  }

  /** Tokenises `prompt` (or takes token ids), prefills it, and streams generated tokens. */
  async *generate(
    prompt: string | readonly number[],
    opts: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken> {
    const tok = this.model.tokenizer;
    const maxTokens = opts.maxTokens ?? 256;
    if (!Number.isInteger(maxTokens) || maxTokens < 0)
      throw new RangeError(`maxTokens must be >= 0, got ${maxTokens}`);
    const sampler = new Sampler(opts);
    const stop = new StopMatcher(opts.stop ?? []);
    const ids =
      typeof prompt === 'string'
        ? tok.encode(prompt, {
            addSpecial: opts.addSpecial ?? this.tokens.length === 0,
            parseSpecial: opts.parseSpecial ?? true,
          })
        : [...prompt];
    this.finishReason = undefined;
    const aborted = () => opts.signal?.aborted === true;
    if (ids.length === 0 && !this.lastLogits) throw new RangeError('empty prompt on an empty context');
    let logits = this.lastLogits as Float32Array;
    if (ids.length > 0) {
      const T = this.model.transformer;
      // Prefill chunk by chunk, yielding to the event loop in between so aborts and other requests get a turn.
      for (let i = 0; i < ids.length; i += T.maxBatch) {
        if (aborted()) {
          this.finishReason = 'abort';
          return;
        }
        logits = this.evaluate(ids.slice(i, i + T.maxBatch));
        opts.onPrefill?.(Math.min(i + T.maxBatch, ids.length), ids.length);
        await yieldToEventLoop();
      }
    }
    const decoder = tok.createStreamDecoder();
    for (let n = 0; n < maxTokens; n++) {
      if (aborted()) {
        this.finishReason = 'abort';
        return;
      }
      const id = sampler.sample(logits, this.tokens);
      if (tok.isEndOfGeneration(id)) {
        this.finishReason = 'stop';
        const rest = stop.flush();
        if (rest) yield { id: -1, text: rest };
        return;
      }
      const text = stop.push(decoder.push(id));
      if (stop.stopped) {
        this.finishReason = 'stop';
        if (text) yield { id, text };
        return;
      }
      yield { id, text };
      if (this.tokens.length >= this.contextSize) {
        this.finishReason = 'length';
        return;
      }
      logits = this.evaluate([id]);
      await yieldToEventLoop();
    }
    this.finishReason = 'length';
    const rest = stop.push(decoder.flush()) + stop.flush();
    if (rest) yield { id: -1, text: rest };
  }

  /** Convenience: the whole completion as a string. */
  async complete(prompt: string | readonly number[], opts: GenerateOptions = {}): Promise<string> {
    let out = '';
    for await (const t of this.generate(prompt, opts)) out += t.text;
    return out;
  }

  /** Frees the cache's memory. */
  dispose(): void {
    this.cache.clear();
    this.tokens.length = 0;
    this.lastLogits = undefined;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
