// The whole forward pass of a Llama-family decoder (llama, qwen2, qwen3), readable in one sitting: embeddings,
// then per layer RMSNorm → QKV (+bias) → (QK-norm) → RoPE → cache append → attention → output projection →
// residual → RMSNorm → SwiGLU FFN → residual; final RMSNorm and the output head. Matrix products and attention
// go through the Backend; the cheap element-wise steps are plain TypeScript over views of the shared heap.
import type { KvCache } from '../cache/kv-cache.js';
import { dequantizeRow } from '../gguf/quants.js';
import type { Backend } from '../kernels/backend.js';
import type { ModelConfig } from './config.js';
import type { ModelWeights } from './weights.js';

/** Hooks into attention for cache compression; queries are post-RoPE, `[nTokens][nHeads * headDim]`. */
export interface AttentionTap {
  /** Compute softmax probabilities `[nHeads][nTokens][maxKeys]` for `onAttention` (costs time and memory). */
  wantsProbs?: boolean;
  /** Runs after this call's keys and values were appended, before attention reads the cache. */
  beforeAttention?(layer: number): void;
  onAttention?(
    layer: number,
    queries: Float32Array,
    positions: Int32Array,
    nTokens: number,
    probs: Float32Array | undefined,
    maxKeys: number,
  ): void;
}

export type LogitsWanted = 'last' | 'all' | 'none';

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
  private readonly act: Activations;
  /** θ_i for each rotated pair i, with Llama-3 frequency factors and linear scaling folded in. */
  readonly invFreq: Float64Array;

  constructor(
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
    readonly backend: Backend,
    /** Most tokens one forward call takes (prefill chunk size). */
    readonly maxBatch = 256,
  ) {
    const h = backend.heap;
    const n = maxBatch;
    const f = (count: number) => h.alloc(count * 4);
    this.act = {
      x: f(n * cfg.dim),
      xb: f(n * Math.max(cfg.dim, cfg.nHeads * cfg.headDim)),
      q: f(n * cfg.nHeads * cfg.headDim),
      k: f(n * cfg.nKvHeads * cfg.headDim),
      v: f(n * cfg.nKvHeads * cfg.headDim),
      att: f(n * cfg.nHeads * cfg.headDim),
      hb: f(n * cfg.ffnDim),
      hb2: f(n * cfg.ffnDim),
      pos: f(n),
      logits: f(n * cfg.vocabSize),
    };
    const pairs = cfg.ropeDim / 2;
    this.invFreq = new Float64Array(pairs);
    for (let i = 0; i < pairs; i++) {
      const factor = weights.ropeFreqs ? weights.ropeFreqs[i] : 1;
      this.invFreq[i] = cfg.ropeBase ** ((-2 * i) / cfg.ropeDim) / factor / cfg.ropeLinearScale;
    }
  }

  /**
   * Runs `tokens` (at most maxBatch) at `positions` through the model, appending their keys and values to
   * `cache`. Returns logits f32 `[vocab]` for the last token, `[nTokens][vocab]` for all, or nothing.
   */
  forward(
    tokens: ArrayLike<number>,
    positions: ArrayLike<number>,
    cache: KvCache,
    wanted: LogitsWanted = 'last',
    tap?: AttentionTap,
  ): Float32Array | undefined {
    const n = tokens.length;
    if (n === 0 || n > this.maxBatch)
      throw new RangeError(`forward() takes 1..${this.maxBatch} tokens, got ${n}`);
    if (positions.length !== n) throw new RangeError('tokens and positions differ in length');
    const { cfg, weights: W, backend: B } = this;
    const heap = B.heap;
    const { dim, nHeads, nKvHeads, headDim, ffnDim, vocabSize } = cfg;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    const a = this.act;
    const x = heap.f32(a.x, n * dim);
    const xb = heap.f32(a.xb, n * Math.max(dim, qDim));
    const q = heap.f32(a.q, n * qDim);
    const k = heap.f32(a.k, n * kvDim);
    const v = heap.f32(a.v, n * kvDim);
    const hb = heap.f32(a.hb, n * ffnDim);
    const hb2 = heap.f32(a.hb2, n * ffnDim);
    const pos = heap.i32(a.pos, n);
    for (let t = 0; t < n; t++) pos[t] = positions[t];

    const E = W.embedding;
    for (let t = 0; t < n; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= E.rows)
        throw new RangeError(`token id ${id} outside vocabulary [0, ${E.rows})`);
      dequantizeRow(
        E.type,
        heap.u8(E.ptr + id * E.rowBytes, E.rowBytes),
        x.subarray(t * dim, (t + 1) * dim),
        dim,
      );
    }

    for (let l = 0; l < cfg.nLayers; l++) {
      const L = W.layers[l];
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
      this.rope(q, pos, n, nHeads);
      this.rope(k, pos, n, nKvHeads);
      cache.append(l, k, v, pos, n);
      tap?.beforeAttention?.(l);
      const kv = cache.views(l);
      const maxKeys = tap?.wantsProbs ? Math.max(...kv.map((h) => h.length)) : 0;
      const probs = tap?.wantsProbs ? heap.alloc(nHeads * n * maxKeys * 4) : undefined;
      if (probs !== undefined) heap.u8(probs, nHeads * n * maxKeys * 4).fill(0);
      B.attention({
        out: a.att,
        queries: a.q,
        nTokens: n,
        nHeads,
        headDim,
        queryPositions: a.pos,
        kv,
        scale: 1 / Math.sqrt(headDim),
        probs,
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
        );
      }
      if (probs !== undefined) heap.release(probs);
      B.matmul(a.xb, L.wo, a.att, n);
      addInto(x, xb, n * dim);

      rmsnorm(xb, x, L.ffnNorm, n, dim, cfg.normEps);
      B.matmul(a.hb, L.wGate, a.xb, n);
      B.matmul(a.hb2, L.wUp, a.xb, n);
      for (let i = 0; i < n * ffnDim; i++) {
        const g = hb[i];
        hb[i] = (g / (1 + Math.exp(-g))) * hb2[i];
      }
      B.matmul(a.xb, L.wDown, a.hb, n);
      addInto(x, xb, n * dim);
    }

    if (wanted === 'none') return undefined;
    const first = wanted === 'last' ? n - 1 : 0;
    const rows = n - first;
    rmsnorm(xb, x.subarray(first * dim), W.outputNorm, rows, dim, cfg.normEps);
    B.matmul(a.logits, W.output, a.xb, rows);
    return heap.f32(a.logits, rows * vocabSize).slice();
  }

  /** Rotary embedding in place on `[n][heads * headDim]` (RoFormer eq. 34; layout per ModelConfig.ropeLayout). */
  private rope(buf: Float32Array, pos: Int32Array, n: number, heads: number): void {
    const { headDim, ropeDim, ropeLayout } = this.cfg;
    const pairs = ropeDim / 2;
    const cos = new Float64Array(pairs);
    const sin = new Float64Array(pairs);
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < pairs; i++) {
        const angle = pos[t] * this.invFreq[i];
        cos[i] = Math.cos(angle);
        sin[i] = Math.sin(angle);
      }
      for (let h = 0; h < heads; h++) {
        const o = (t * heads + h) * headDim;
        for (let i = 0; i < pairs; i++) {
          const i0 = ropeLayout === 'normal' ? o + 2 * i : o + i;
          const i1 = ropeLayout === 'normal' ? i0 + 1 : i0 + pairs;
          const x0 = buf[i0];
          const x1 = buf[i1];
          buf[i0] = x0 * cos[i] - x1 * sin[i];
          buf[i1] = x0 * sin[i] + x1 * cos[i];
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
