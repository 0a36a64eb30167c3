// The whole forward pass of a Llama-family decoder (llama, qwen2, qwen3), readable in one sitting: embeddings,
// then per layer RMSNorm → QKV (+bias) → (QK-norm) → RoPE → cache append → attention → output projection →
// residual → RMSNorm → SwiGLU FFN → residual; final RMSNorm and the output head. Matrix products and attention
// go through the Backend; the cheap element-wise steps are plain TypeScript over views of the shared heap.
import type { KvCache } from '../cache/kv-cache.js';
import { dequantizeRow } from '../gguf/quants.js';
import type { Backend } from '../kernels/backend.js';
import { copyOut } from '../kernels/heap.js';
import type { ModelConfig } from './config.js';
import type { ModelWeights } from './weights.js';

/** Hooks into attention for cache compression; queries are post-RoPE, `[nTokens][nHeads * headDim]`. */
export interface AttentionTap {
  /** Compute softmax probabilities `[nHeads][nTokens][maxKeys]` for `onAttention` (costs time and memory). */
  wantsProbs?: boolean;
  /** Compute per KV head each key's summed probability `[nKvHeads][maxKeys]` for `onAttention` (cheap). */
  wantsKeySums?: boolean;
  /** Pass `onAttention` a copy of the queries before RoPE as well (one copy of the call's queries). */
  wantsPreRopeQueries?: boolean;
  /** Runs after this call's keys and values were appended, before attention reads the cache. */
  beforeAttention?(layer: number): void;
  onAttention?(
    layer: number,
    queries: Float32Array,
    positions: Int32Array,
    nTokens: number,
    probs: Float32Array | undefined,
    maxKeys: number,
    keySums: Float32Array | undefined,
    preRopeQueries: Float32Array | undefined,
  ): void;
}

export type LogitsWanted = 'last' | 'all' | 'none';

/** The backend (shard) holding each part of the weights; one backend for a model under 4 GiB. */
export interface ShardBackends {
  /** `[nLayers]`: a layer's weights, activations and KV cache share its backend's heap. */
  layers: readonly Backend[];
  embedding: Backend;
  output: Backend;
}

interface Activations {
  x: number;
  xb: number;
  q: number;
  k: number;
  v: number;
  att: number;
  hb: number;
  hb2: number;
  pos: number;
  logits: number;
}

export class Transformer {
  /** Activation buffers in each shard's heap (one shard unless the model is past 4 GiB). */
  private readonly acts = new Map<Backend, Activations>();
  /** The queries before RoPE for a tap that asks, reused across calls (valid during `onAttention` only). */
  private preRope = new Float32Array(0);
  /** θ_i for each rotated pair i, with Llama-3 frequency factors and linear scaling folded in. */
  readonly invFreq: Float64Array;

  constructor(
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
    /** Which backend (shard, heap) holds each part of the weights; a layer's KV cache goes with it. */
    readonly shards: ShardBackends,
    /** Most tokens one forward call takes (prefill chunk size). */
    readonly maxBatch = 256,
  ) {
    for (const b of [...shards.layers, shards.output]) {
      if (!this.acts.has(b)) this.acts.set(b, this.allocActivations(b, b === shards.output));
    }
    const pairs = cfg.ropeDim / 2;
    this.invFreq = new Float64Array(pairs);
    for (let i = 0; i < pairs; i++) {
      const factor = weights.ropeFreqs ? weights.ropeFreqs[i] : 1;
      this.invFreq[i] = cfg.ropeBase ** ((-2 * i) / cfg.ropeDim) / factor / cfg.ropeLinearScale;
    }
  }

  private allocActivations(b: Backend, withLogits: boolean): Activations {
    const { cfg, maxBatch: n } = this;
    const f = (count: number) => b.heap.alloc(count * 4);
    return {
      x: f(n * cfg.dim),
      xb: f(n * Math.max(cfg.dim, cfg.nHeads * cfg.headDim)),
      q: f(n * cfg.nHeads * cfg.headDim),
      k: f(n * cfg.nKvHeads * cfg.headDim),
      v: f(n * cfg.nKvHeads * cfg.headDim),
      att: f(n * cfg.nHeads * cfg.headDim),
      hb: f(n * cfg.ffnDim),
      hb2: f(n * cfg.ffnDim),
      pos: f(n),
      logits: withLogits ? f(n * cfg.vocabSize) : 0,
    };
  }

  /**
   * Runs `tokens` (at most maxBatch) at `positions` through the model, appending their keys and values to
   * `cache`. Returns logits f32 `[vocab]` for the last token, `[nTokens][vocab]` for all, or nothing: a
   * fresh array, or a view of `into` when given (a decode loop reusing one skips allocating, and faulting in,
   * the pages of a new one per token: Qwen2.5's 0.6 MB of logits cost 2 ms a token on Node 24 here).
   */
  forward(
    tokens: ArrayLike<number>,
    positions: ArrayLike<number>,
    cache: KvCache,
    wanted: LogitsWanted = 'last',
    tap?: AttentionTap,
    into?: Float32Array,
  ): Float32Array | undefined {
    const n = tokens.length;
    if (n === 0 || n > this.maxBatch)
      throw new RangeError(`forward() takes 1..${this.maxBatch} tokens, got ${n}`);
    if (positions.length !== n) throw new RangeError('tokens and positions differ in length');
    const { cfg, weights: W } = this;
    const { dim, nHeads, nKvHeads, headDim, ffnDim, vocabSize } = cfg;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;

    // Views of one shard's activations; `enter` moves the hidden state and positions into another shard.
    let B = this.shards.layers[0];
    let a = this.acts.get(B) as Activations;
    const views = () => {
      const heap = B.heap;
      return {
        x: heap.f32(a.x, n * dim),
        xb: heap.f32(a.xb, n * Math.max(dim, qDim)),
        q: heap.f32(a.q, n * qDim),
        k: heap.f32(a.k, n * kvDim),
        v: heap.f32(a.v, n * kvDim),
        pos: heap.i32(a.pos, n),
      };
    };
    let { x, xb, q, k, v, pos } = views();
    const enter = (next: Backend) => {
      if (next === B) return;
      const from = { x, pos };
      B = next;
      a = this.acts.get(B) as Activations;
      ({ x, xb, q, k, v, pos } = views());
      x.set(from.x);
      pos.set(from.pos);
    };
    for (let t = 0; t < n; t++) pos[t] = positions[t];
    const rot = this.rotations(pos, n);

    const E = W.embedding;
    const eHeap = this.shards.embedding.heap;
    for (let t = 0; t < n; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= E.rows)
        throw new RangeError(`token id ${id} outside vocabulary [0, ${E.rows})`);
      dequantizeRow(
        E.type,
        eHeap.u8(E.ptr + id * E.rowBytes, E.rowBytes),
        x.subarray(t * dim, (t + 1) * dim),
        dim,
      );
    }

    for (let l = 0; l < cfg.nLayers; l++) {
      enter(this.shards.layers[l]);
      const L = W.layers[l];
      const heap = B.heap;
      rmsnorm(xb, x, L.attnNorm, n, dim, cfg.normEps);
      B.matmul(a.q, L.wq, a.xb, n);
      B.matmul(a.k, L.wk, a.xb, n);
      B.matmul(a.v, L.wv, a.xb, n);
      if (L.bq && L.bk && L.bv) {
        addBias(q, L.bq, n);
        addBias(k, L.bk, n);
        addBias(v, L.bv, n);
      }
      if (L.qNorm && L.kNorm) {
        rmsnorm(q, q, L.qNorm, n * nHeads, headDim, cfg.normEps);
        rmsnorm(k, k, L.kNorm, n * nKvHeads, headDim, cfg.normEps);
      }
      let preRope: Float32Array | undefined;
      if (tap?.wantsPreRopeQueries) {
        if (this.preRope.length < q.length) this.preRope = new Float32Array(q.length);
        preRope = this.preRope.subarray(0, q.length);
        preRope.set(q);
      }
      this.rope(q, rot, n, nHeads);
      this.rope(k, rot, n, nKvHeads);
      cache.appendAt(l, a.k, a.v, pos, n);
      tap?.beforeAttention?.(l);
      const kv = cache.views(l);
      const maxKeys = tap?.wantsProbs || tap?.wantsKeySums ? Math.max(...kv.map((h) => h.length)) : 0;
      const probs = tap?.wantsProbs ? heap.alloc(nHeads * n * maxKeys * 4) : undefined;
      if (probs !== undefined) heap.u8(probs, nHeads * n * maxKeys * 4).fill(0);
      const keySums = tap?.wantsKeySums ? heap.alloc(nKvHeads * maxKeys * 4) : undefined;
      if (keySums !== undefined) heap.u8(keySums, nKvHeads * maxKeys * 4).fill(0);
      B.attention({
        out: a.att,
        queries: a.q,
        nTokens: n,
        nHeads,
        headDim,
        queryPositions: a.pos,
        kv,
        ...cache.storage,
        scale: 1 / Math.sqrt(headDim),
        probs,
        keySums,
        maxKeys,
      });
      if (tap?.onAttention) {
        tap.onAttention(
          l,
          q,
          pos,
          n,
          probs === undefined ? undefined : heap.f32(probs, nHeads * n * maxKeys),
          maxKeys,
          keySums === undefined ? undefined : heap.f32(keySums, nKvHeads * maxKeys),
          preRope,
        );
      }
      if (probs !== undefined) heap.release(probs);
      if (keySums !== undefined) heap.release(keySums);
      B.matmul(a.xb, L.wo, a.att, n);
      addInto(x, xb, n * dim);

      rmsnorm(xb, x, L.ffnNorm, n, dim, cfg.normEps);
      B.matmul(a.hb, L.wGate, a.xb, n);
      B.matmul(a.hb2, L.wUp, a.xb, n);
      B.swiglu(a.hb, a.hb2, n * ffnDim);
      B.matmul(a.xb, L.wDown, a.hb, n);
      addInto(x, xb, n * dim);
    }

    if (wanted === 'none') return undefined;
    enter(this.shards.output);
    const first = wanted === 'last' ? n - 1 : 0;
    const rows = n - first;
    rmsnorm(xb, x.subarray(first * dim), W.outputNorm, rows, dim, cfg.normEps);
    B.matmul(a.logits, W.output, a.xb, rows);
    const logits = B.heap.f32(a.logits, rows * vocabSize);
    if (!into) return copyOut(logits);
    if (into.length < logits.length)
      throw new RangeError(`forward(): into holds ${into.length} floats, the logits ${logits.length}`);
    into.set(logits);
    return into.subarray(0, logits.length);
  }

  /** cos and sin of every token's rotation angle per pair, `[n][ropeDim / 2]`: computed once per forward call. */
  private rotations(pos: Int32Array, n: number): { cos: Float64Array; sin: Float64Array } {
    const pairs = this.cfg.ropeDim / 2;
    const cos = new Float64Array(n * pairs);
    const sin = new Float64Array(n * pairs);
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < pairs; i++) {
        const angle = pos[t] * this.invFreq[i];
        cos[t * pairs + i] = Math.cos(angle);
        sin[t * pairs + i] = Math.sin(angle);
      }
    }
    return { cos, sin };
  }

  /** Rotary embedding in place on `[n][heads * headDim]` (RoFormer eq. 34; layout per ModelConfig.ropeLayout). */
  private rope(
    buf: Float32Array,
    rot: { cos: Float64Array; sin: Float64Array },
    n: number,
    heads: number,
  ): void {
    const { headDim, ropeDim, ropeLayout } = this.cfg;
    const pairs = ropeDim / 2;
    const { cos, sin } = rot;
    for (let t = 0; t < n; t++) {
      const r = t * pairs;
      for (let h = 0; h < heads; h++) {
        const o = (t * heads + h) * headDim;
        for (let i = 0; i < pairs; i++) {
          const i0 = ropeLayout === 'normal' ? o + 2 * i : o + i;
          const i1 = ropeLayout === 'normal' ? i0 + 1 : i0 + pairs;
          const x0 = buf[i0];
          const x1 = buf[i1];
          buf[i0] = x0 * cos[r + i] - x1 * sin[r + i];
          buf[i1] = x0 * sin[r + i] + x1 * cos[r + i];
        }
      }
    }
  }
}

/** y[r] = x[r] / sqrt(mean(x[r]²) + eps) · w, for `rows` rows of `width` (in place when y === x). */
export function rmsnorm(
  y: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  width: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let ss = 0;
    for (let i = 0; i < width; i++) ss += x[o + i] * x[o + i];
    const s = 1 / Math.sqrt(ss / width + eps);
    for (let i = 0; i < width; i++) y[o + i] = x[o + i] * s * w[i];
  }
}

function addBias(buf: Float32Array, bias: Float32Array, n: number): void {
  const w = bias.length;
  for (let t = 0; t < n; t++) for (let i = 0; i < w; i++) buf[t * w + i] += bias[i];
}

function addInto(dst: Float32Array, src: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) dst[i] += src[i];
}
