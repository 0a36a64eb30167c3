// A generation context: one KV cache and the tokens that went into it. Prompts are prefilled in chunks;
// tokens stream out of an async iterator that honours an AbortSignal and stop strings.
import type { CacheType } from '../cache/cache-type.js';
import { KvCache } from '../cache/kv-cache.js';
import { host } from '../host/index.js';
import type { Model } from '../model/model.js';
import type { AttentionTap } from '../model/transformer.js';
import { type PressSpec, pressFromSpec } from '../presses/index.js';
import type { Press, StepInfo } from '../presses/press.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopMatcher } from './stop.js';

export interface ContextOptions {
  /** Largest position the context may reach (default: the model's trained context length). */
  contextSize?: number;
  /** KV-cache compression: a press, or a spec like `{ name: 'lagkv', ratio: 4 }`. Default: full cache. */
  press?: Press | PressSpec;
  /** Storage of keys and values, as llama.cpp's --cache-type-k/-v (default f16 for both). */
  cacheType?: Partial<CacheType>;
}

export interface PrefillOptions {
  /** Prepend BOS etc. as the model's tokenizer says (default: true when the context is empty). */
  addSpecial?: boolean;
  /** Recognise special-token texts such as `<|im_start|>` in the prompt (default true). */
  parseSpecial?: boolean;
  /**
   * Query-aware compression: the question is shown to the press (its queries, and attention if the press
   * asks) before the final compression of the prefill (block-wise presses: after every block), at the
   * positions right after the prompt, then taken out of the cache again. The question is not fed: it usually
   * follows as the next prompt (`prefill(context, { question })`, then `generate(question)`). A press that
   * needs a question and gets none (LASER-KV) probes the prompt's last tokens instead
   * (`Press.questionFallback`); an empty question counts as none.
   */
  question?: string | readonly number[];
  /**
   * false: the press neither sees nor compresses these tokens: they stay whole (default true). kvpress's
   * protocol, which the benchmark follows: the context is compressed, the question and the answer are not
   * (generate() with `compress: false, compressGenerated: false`).
   */
  compress?: boolean;
  signal?: AbortSignal;
  /** Called after each prefill chunk with tokens done so far and the prompt's length. */
  onPrefill?: (done: number, total: number) => void;
}

export interface GenerateOptions extends SamplingOptions, PrefillOptions {
  /**
   * Whether the press may compress while tokens are generated (default true: decode-time eviction, as each
   * press does it). `compress` covers the prompt; the benchmark turns both off after the context.
   */
  compressGenerated?: boolean;
  /** Most tokens to generate (default 256). */
  maxTokens?: number;
  /** Generation ends before the first occurrence of any of these strings. */
  stop?: string[];
  /** Leave control tokens such as `<s>` out of the text (default false: every token's text). */
  skipSpecial?: boolean;
}

export interface GeneratedToken {
  /** The token id, or -1 for text held back (a possible stop string) and released when generation ends. */
  id: number;
  /** Text this token completes (may be empty while a multi-byte character or a possible stop string is pending). */
  text: string;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export class Context {
  readonly cache: KvCache;
  readonly press: Press | undefined;
  /** Every token fed to the model, in order. */
  readonly tokens: number[] = [];
  readonly contextSize: number;
  finishReason: FinishReason | undefined;
  /** Largest number of bytes the cache held at any point of this context. */
  peakCacheBytes = 0;
  private lastLogits: Float32Array | undefined;
  private readonly tap: AttentionTap | undefined;
  private probing = false;

  constructor(
    readonly model: Model,
    opts: ContextOptions = {},
  ) {
    const cfg = model.config;
    this.contextSize = opts.contextSize ?? cfg.contextLength;
    if (!Number.isInteger(this.contextSize) || this.contextSize < 1) {
      throw new RangeError(`contextSize must be a positive whole number, got ${opts.contextSize}`);
    }
    const p = opts.press;
    this.press = p === undefined ? undefined : isPress(p) ? p : pressFromSpec(p);
    this.press?.reset?.();
    const interval = this.press?.probeInterval;
    if (interval !== undefined && !(Number.isInteger(interval) && interval >= 1))
      throw new RangeError(`${this.press?.name}: probeInterval must be a whole number >= 1, got ${interval}`);
    this.cache = new KvCache(
      model.shards.layers,
      { nLayers: cfg.nLayers, nKvHeads: cfg.nKvHeads, headDim: cfg.headDim },
      opts.cacheType,
    );
    this.tap = this.makeTap();
  }

  private get groupSize(): number {
    return this.model.config.nHeads / this.model.config.nKvHeads;
  }

  /** The hooks a press needs inside the forward pass; none when it needs none (no cost otherwise). */
  private makeTap(): AttentionTap | undefined {
    const press = this.press;
    if (!press || !(observes(press) || press.compressBeforeAttention)) return undefined;
    // Read at every forward call: a press may want probabilities only for some (KVzip: its probes).
    const tap: AttentionTap = {
      get wantsProbs() {
        return press.wantsProbs === true;
      },
      get wantsKeySums() {
        return press.wantsKeySums === true;
      },
      get wantsPreRopeQueries() {
        return press.wantsPreRopeQueries === true;
      },
    };
    if (press.compressBeforeAttention) {
      tap.beforeAttention = (layer) => {
        if (!this.probing) this.compressLayer(layer, this.pendingStep);
      };
    }
    if (press.observe && observes(press)) {
      const cfg = this.model.config;
      const nHeads = cfg.nHeads;
      const rope = { invFreq: this.model.transformer.invFreq, layout: cfg.ropeLayout, dims: cfg.ropeDim };
      // Looked up at each call (not bound once), so that a profiler wrapping press.observe sees the calls.
      tap.onAttention = (layer, queries, positions, nTokens, probs, maxKeys, keySums, preRopeQueries) =>
        press.observe?.(
          layer,
          {
            queries,
            preRopeQueries,
            positions,
            nTokens,
            nHeads,
            probs,
            keySums,
            maxKeys,
            probe: this.probing,
            rope,
          },
          this.cache.layerState(layer, this.groupSize),
        );
    }
    return tap;
  }

  /** The step being run, for presses that compress before attention. */
  private pendingStep: StepInfo = { phase: 'prefill', newTokens: 0, prefillDone: false };

  private compressLayer(layer: number, step: StepInfo): void {
    const keep = this.press?.compress(this.cache.layerState(layer, this.groupSize), step);
    if (keep) this.cache.apply(layer, keep);
  }

  private compressAll(step: StepInfo): void {
    if (!this.press) return;
    for (let l = 0; l < this.model.config.nLayers; l++) this.compressLayer(l, step);
  }

  /** Fraction of (layer, head, token) slots kept over everything seen: 1 for a full cache. */
  get keptFraction(): number {
    const c = this.model.config;
    const seen = this.cache.tokensSeen;
    return seen === 0 ? 1 : this.cache.keptTokens / (c.nLayers * c.nKvHeads * seen);
  }

  /**
   * Runs one forward call of at most maxBatch tokens, then lets the press compress (`compress` false: the press
   * neither observes nor compresses).
   */
  private step(
    chunk: readonly number[],
    step: StepInfo,
    wantLogits: boolean,
    compress: boolean,
    into?: Float32Array,
  ): Float32Array | undefined {
    const start = this.tokens.length;
    if (start + chunk.length > this.contextSize) {
      throw new RangeError(
        `${chunk.length} tokens after ${start} exceed the context size of ${this.contextSize} tokens`,
      );
    }
    this.pendingStep = step;
    const positions = chunk.map((_, j) => start + j);
    const logits = this.model.transformer.forward(
      chunk,
      positions,
      this.cache,
      wantLogits ? 'last' : 'none',
      compress ? this.tap : undefined,
      into,
    );
    this.tokens.push(...chunk);
    this.peakCacheBytes = Math.max(this.peakCacheBytes, this.cache.bytes);
    // Presses that compress before attention already did so inside the forward call.
    if (compress && !this.press?.compressBeforeAttention) this.compressAll(step);
    return logits;
  }

  /**
   * Feeds `ids` chunk by chunk, yielding after each chunk; returns the last logits. Prefills with a question
   * (or the press's stand-in for one) are cut into the press's probe blocks, each probed, then compressed.
   */
  private *feed(
    ids: readonly number[],
    phase: 'prefill' | 'decode',
    question: readonly number[] | undefined,
    compress: boolean,
    into?: Float32Array,
  ): Generator<number, Float32Array | undefined> {
    if (ids.length === 0) throw new RangeError('empty prompt');
    if (this.tokens.length + ids.length > this.contextSize) {
      throw new RangeError(
        `${ids.length} tokens after ${this.tokens.length} exceed the context size of ${this.contextSize} tokens`,
      );
    }
    const B = this.model.transformer.maxBatch;
    // The question always sits right after the whole prompt, also when probed after an earlier block.
    const questionAt = this.tokens.length + ids.length;
    const fallback = this.press?.questionFallback;
    const start = this.tokens.length;
    // A press that reconstructs the prompt (KVzip) probes with its own requests instead of the question.
    const reconstructs = this.press?.reconstructionProbes !== undefined && phase === 'prefill' && compress;
    let probe = question !== undefined && question.length > 0 && !reconstructs ? question : undefined;
    // A stand-in takes at most the room left in the context (none left: nothing to probe with).
    const room = Math.min(fallback ?? 0, this.contextSize - questionAt, ids.length);
    if (probe === undefined && phase === 'prefill' && room > 0 && !reconstructs) probe = ids.slice(-room);
    if (!compress || phase === 'decode') probe = undefined;
    const probes = probe !== undefined && this.press !== undefined && observes(this.press);
    if (probes && questionAt + (probe?.length ?? 0) > this.contextSize)
      throw new RangeError(
        `the question (${probe?.length} tokens after ${questionAt}) does not fit in the context of ${this.contextSize} tokens`,
      );
    const block = probe !== undefined ? (this.press?.probeInterval ?? ids.length) : ids.length;
    let logits: Float32Array | undefined;
    for (let b = 0; b < ids.length; b += block) {
      const end = Math.min(b + block, ids.length);
      for (let i = b; i < end; i += B) {
        const chunk = ids.slice(i, Math.min(i + B, end));
        const last = i + chunk.length === ids.length;
        const prefillDone = phase === 'prefill' && last && probe === undefined && !reconstructs;
        logits = this.step(chunk, { phase, newTokens: chunk.length, prefillDone }, last, compress, into);
        yield i + chunk.length;
      }
      if (probe !== undefined) {
        const step = { phase: 'prefill' as const, newTokens: end - b, prefillDone: end === ids.length };
        yield* this.probeThenCompress([probe], questionAt, step, ids.length);
      }
    }
    if (reconstructs) {
      const selfProbes = this.press?.reconstructionProbes?.(ids, {
        start,
        room: this.contextSize - questionAt,
        encode: (text) => this.model.tokenizer.encode(text, { addSpecial: false, parseSpecial: false }),
      });
      const step = { phase: 'prefill' as const, newTokens: ids.length, prefillDone: true };
      yield* this.probeThenCompress(selfProbes ?? [], questionAt, step, ids.length);
    }
    this.lastLogits = logits;
    return logits;
  }

  /**
   * Feeds tokens through the model (chunked, compressing between chunks); returns the last logits (a fresh
   * array, or a view of `o.into`, at least vocabulary-sized, when given). A prefill of several tokens probes
   * as `prefill` does without a question (a press's stand-in for one, if it has one).
   */
  evaluate(
    tokens: readonly number[],
    phase: 'prefill' | 'decode' = tokens.length > 1 ? 'prefill' : 'decode',
    o: { compress?: boolean; into?: Float32Array } = {},
  ): Float32Array {
    if (tokens.length === 0) throw new RangeError('nothing to evaluate');
    const vocab = this.model.config.vocabSize;
    if (o.into !== undefined && !(o.into instanceof Float32Array && o.into.length >= vocab))
      throw new RangeError(
        `evaluate(): into must be a Float32Array of at least ${vocab} floats (the vocabulary)`,
      );
    const run = this.feed(tokens, phase, undefined, o.compress ?? true, o.into);
    for (;;) {
      const r = run.next();
      if (r.done) return r.value as Float32Array;
    }
  }

  private encode(text: string | readonly number[], o: PrefillOptions): number[] {
    if (typeof text !== 'string') return [...text];
    return this.model.tokenizer.encode(text, {
      addSpecial: o.addSpecial ?? this.tokens.length === 0,
      parseSpecial: o.parseSpecial ?? true,
    });
  }

  /**
   * Prefills `prompt` chunk by chunk (compressing between chunks), yielding to the event loop in between.
   * With `question`, compression is query-aware. Returns the logits after the prompt (undefined if aborted).
   */
  async prefill(
    prompt: string | readonly number[],
    o: PrefillOptions = {},
  ): Promise<Float32Array | undefined> {
    const ids = this.encode(prompt, o);
    if (ids.length === 0) throw new RangeError('empty prompt');
    const question =
      o.question === undefined ? undefined : this.encode(o.question, { ...o, addSpecial: false });
    const run = this.feed(ids, 'prefill', question, o.compress ?? true);
    for (;;) {
      if (o.signal?.aborted) {
        // Closing the generator runs its cleanup: a probe under way is taken back out of the cache.
        run.return(undefined);
        return undefined;
      }
      const r = run.next();
      if (r.done) return r.value;
      o.onPrefill?.(r.value, ids.length);
      await yieldToEventLoop();
    }
  }

  /**
   * Query-aware compression: run each probe (the question, its stand-in, or a press's own reconstruction
   * requests) at positions `at`..., taking it back out before the next, then compress with `step` (newTokens:
   * the block the probes follow). Yields `progress` after every forward call, so that callers can yield to
   * the event loop and notice an abort between them.
   */
  private *probeThenCompress(
    probes: readonly (readonly number[])[],
    at: number,
    step: StepInfo,
    progress: number,
  ): Generator<number, void> {
    const seen = this.tokens.length;
    for (const question of probes) {
      if (question.length === 0 || !this.press || !observes(this.press)) continue;
      if (at + question.length > this.contextSize)
        throw new RangeError(
          `the question (${question.length} tokens after ${at}) does not fit in the context of ${this.contextSize} tokens`,
        );
      try {
        const B = this.model.transformer.maxBatch;
        for (let i = 0; i < question.length; i += B) {
          const chunk = question.slice(i, i + B);
          this.probing = true;
          try {
            this.model.transformer.forward(
              chunk,
              chunk.map((_, j) => at + i + j),
              this.cache,
              'none',
              this.tap,
            );
          } finally {
            this.probing = false;
          }
          yield progress;
        }
      } finally {
        this.cache.truncate(at, seen);
      }
    }
    this.compressAll(step);
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
    this.finishReason = undefined;
    const empty = typeof prompt === 'string' ? prompt.length === 0 : prompt.length === 0;
    let logits: Float32Array | undefined;
    if (empty) {
      if (!this.lastLogits) throw new RangeError('empty prompt on an empty context');
      logits = this.lastLogits;
    } else logits = await this.prefill(prompt, opts);
    const decoder = tok.createStreamDecoder({ skipSpecial: opts.skipSpecial });
    // Each step's logits land in one array (the sampler reads them before the next step overwrites them).
    const into = new Float32Array(this.model.config.vocabSize);
    for (let n = 0; n < maxTokens; n++) {
      if (opts.signal?.aborted || logits === undefined) {
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
      logits = this.evaluate([id], 'decode', { compress: opts.compressGenerated ?? true, into });
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

function isPress(p: Press | PressSpec): p is Press {
  return typeof (p as Press).compress === 'function';
}

function yieldToEventLoop(): Promise<void> {
  return host.nextTask();
}

/** Whether a press looks at the attention of forward calls (its queries, probabilities or key sums). */
function observes(press: Press): boolean {
  return press.wantsProbs === true || press.wantsQueries === true || press.wantsKeySums === true;
}
