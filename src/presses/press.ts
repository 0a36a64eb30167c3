// The narrow interface between the KV cache and any compression method ("press"). After every forward call
// (a prefill chunk or a decode step), the context shows each layer's cache to the press, which answers with
// the tokens each KV head keeps. A press sees only the cache (and, if it asks, the queries/attention the
// cache was read with); it never reaches into the model.

/** One layer of the cache as a press sees it. Views stay valid until the cache changes. */
export interface LayerState {
  readonly layer: number;
  readonly nLayers: number;
  readonly nKvHeads: number;
  /** Query heads per KV head (GQA group size). */
  readonly groupSize: number;
  readonly headDim: number;
  /** Tokens that went through the cache so far, evicted ones included. */
  readonly seen: number;
  length(head: number): number;
  /**
   * f32 `[length - from][headDim]`, post-RoPE as appended: the head's rows from `from` (default 0) on. A press
   * that reads only the newest rows asks for those: other storage types than f32 are converted per call.
   */
  keys(head: number, from?: number): Float32Array;
  /** f32 `[length - from][headDim]`, as keys. */
  values(head: number, from?: number): Float32Array;
  /** i32 `[length]`, original positions, increasing. */
  positions(head: number): Int32Array;
  /**
   * Attention of `queries` (post-RoPE, f32 `[nQueries][nKvHeads * groupSize * headDim]`, at `positions`) over
   * this layer's kept tokens, causal by position, computed by the model's attention kernel with its scale
   * 1/√headDim. For presses that score with a few queries (a window, the newest token, a probe) without asking
   * for the probabilities of every forward call. Absent on states not backed by a model.
   */
  attend?(queries: Float32Array, nQueries: number, positions: ArrayLike<number>): AttentionProbs;
  /**
   * Dense products, matrix by matrix: f32 `[batch][m][n]` = a f32 `[batch][m][k]` · (b f32 `[batch][n][k]`)ᵀ
   * (batch 1 if not given), by the model's kernels (SIMD, on its threads; a = b is read once). Written into
   * `out` when given (a press reusing one array skips allocating, and faulting in, fresh pages per call). For
   * presses whose scoring is linear algebra over the cache (Expected Attention's query covariance and
   * quadratic forms). Absent on states not backed by a model: such a press multiplies in loops.
   */
  product?(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    batch?: number,
    out?: Float32Array,
  ): Float32Array;
}

/** Softmax probabilities f32 `[nHeads][nQueries][maxKeys]`; row entries past the head's length are 0. */
export interface AttentionProbs {
  probs: Float32Array;
  maxKeys: number;
}

/** What happened just before a compression moment. */
export interface StepInfo {
  phase: 'prefill' | 'decode';
  /** Tokens the last forward call appended. */
  newTokens: number;
  /**
   * True after the last chunk of a prefill (the moment one-shot presses act); also set, in the decode phase, by
   * a wrapper that makes a one-shot press act while generating (decoding.ts).
   */
  prefillDone: boolean;
}

/** Per KV head: indices into the head's current token list to keep (strictly increasing), or null = all. */
export type KeepSets = (ArrayLike<number> | null)[];

/** Attention seen while the model ran, for presses that score with it (only computed when asked for). */
export interface AttentionObservation {
  /** Post-RoPE queries f32 `[nTokens][nHeads * headDim]`. */
  queries: Float32Array;
  /**
   * The same queries before RoPE (after any q-norm), if the press asked (`wantsPreRopeQueries`); valid during
   * the `observe` call only.
   */
  preRopeQueries?: Float32Array;
  /** Positions of the query tokens. */
  positions: Int32Array;
  nTokens: number;
  nHeads: number;
  /**
   * Softmax probabilities f32 `[nHeads][nTokens][maxKeys]` over each KV head's kept tokens at the time
   * (including the tokens of this call), if the press asked for them; row entries past the head's length are 0.
   */
  probs?: Float32Array;
  maxKeys: number;
  /**
   * If the press asked (`wantsKeySums`): f32 `[nKvHeads][maxKeys]`, each key's probability summed over the KV
   * head's query heads and this call's queries (row entries past the head's length are 0).
   */
  keySums?: Float32Array;
  /** Whether these queries are a probe (the question in query-aware mode), not tokens kept in the cache. */
  probe: boolean;
  /** The rotary embedding the queries and keys carry, for presses that reason about other positions. */
  rope?: Rotary;
}

/**
 * Rotary position embedding (RoFormer): pair i of a head's first `dims` channels turns by p·invFreq[i] at
 * position p. Pairs are channels (2i, 2i+1) in the 'normal' layout (llama.cpp's llama) and (i, i + dims/2)
 * in 'neox'; channels past `dims` are not rotated.
 */
export interface Rotary {
  invFreq: Float64Array;
  layout: 'normal' | 'neox';
  dims: number;
}

export interface Press {
  readonly name: string;
  /** Ask for attention probabilities during forward calls (costs time; off unless a press needs it). */
  readonly wantsProbs?: boolean;
  /**
   * Ask for each key's attention summed over its KV head's query heads and the call's queries
   * (`AttentionObservation.keySums`): all an accumulating press (H2O) needs, without the probability matrix.
   */
  readonly wantsKeySums?: boolean;
  /** Ask to see the queries of each forward call. */
  readonly wantsQueries?: boolean;
  /** Ask for the queries before RoPE too (`AttentionObservation.preRopeQueries`; implies seeing the queries). */
  readonly wantsPreRopeQueries?: boolean;
  /**
   * Compress each layer right after the new keys/values are appended, before attention reads them (so the
   * step that triggers compression already attends to the compressed cache). Default: after the forward call.
   */
  readonly compressBeforeAttention?: boolean;
  /**
   * Query-aware block mode: prefill with a question cuts the prompt into blocks of this many tokens and, after
   * each block, probes the question (at the positions right after the whole prompt) and compresses
   * (LASER-KV §3). Unset: one probe at the end of the prompt.
   */
  readonly probeInterval?: number;
  /**
   * Context reconstruction (KVzip): after a prompt's last chunk the context runs each of these token lists as a
   * probe at the positions right after the prompt (observed with `probe: true`, taken back out before the next),
   * then compresses with `prefillDone`. `start` is the prompt's first position, `room` the positions left after
   * it, `encode` tokenises text without special tokens. A question given to that prefill is not probed.
   */
  reconstructionProbes?(
    prompt: readonly number[],
    o: { start: number; room: number; encode: (text: string) => number[] },
  ): number[][];
  /**
   * For presses that cannot select without a question (LASER-KV): how many of a prompt's last tokens stand in
   * for the question when a prefill has none. Context probes them after the prompt, where a question would
   * go, so such a press also runs query-agnostic (as SnapKV's observation window does). Unset: no fallback.
   */
  readonly questionFallback?: number;
  /**
   * Made to compress while generating (kvpress's DecodingPress): the benchmark lets it evict generated tokens
   * (and the question), where every other press keeps question and answer whole.
   */
  readonly compressesGenerated?: boolean;
  /** Sees each layer's queries/attention during a forward call, if asked for. */
  observe?(layer: number, obs: AttentionObservation, state: LayerState): void;
  /** At a compression moment, decides what each KV head of this layer keeps; null keeps everything. */
  compress(state: LayerState, step: StepInfo): KeepSets | null;
  /** Forget any state (a new context starts). */
  reset?(): void;
}

/** Every head keeps the same indices. */
export function sameForAllHeads(state: LayerState, keep: ArrayLike<number>): KeepSets {
  return Array.from({ length: state.nKvHeads }, () => keep);
}

/** Python's round(): to the nearest whole number, halves to the even one (kvpress computes budgets with it). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}
