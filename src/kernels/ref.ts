// Plain TypeScript kernels: the reference every faster path is checked against. Straight loops, f64
// accumulation where it costs nothing, no threads.
import { dequantize, dequantizeRow, quantizeInto } from '../gguf/quants.js';
import { BLOCK_LAYOUT, type GgmlType } from '../gguf/types.js';
import type { AttentionArgs, Backend, WeightMatrix } from './backend.js';
import type { Heap } from './heap.js';

export class RefBackend implements Backend {
  readonly name = 'ref';
  constructor(readonly heap: Heap) {}

  supports(type: GgmlType): boolean {
    return BLOCK_LAYOUT[type] !== undefined;
  }

  matmul(out: number, w: WeightMatrix, x: number, nTokens: number): void {
    const { rows, cols } = w;
    const X = this.heap.f32(x, nTokens * cols);
    const Y = this.heap.f32(out, nTokens * rows);
    const row = new Float32Array(cols);
    const bytes = this.heap.u8(w.ptr, rows * w.rowBytes);
    for (let r = 0; r < rows; r++) {
      dequantizeRow(w.type, bytes.subarray(r * w.rowBytes, (r + 1) * w.rowBytes), row, cols);
      for (let t = 0; t < nTokens; t++) {
        const xo = t * cols;
        let s = 0;
        for (let c = 0; c < cols; c++) s += row[c] * X[xo + c];
        Y[t * rows + r] = s;
      }
    }
  }

  product(out: number, a: number, b: number, m: number, n: number, k: number, batch: number): void {
    const A = this.heap.f32(a, batch * m * k);
    const B = this.heap.f32(b, batch * n * k);
    const Y = this.heap.f32(out, batch * m * n);
    for (let z = 0; z < batch; z++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          const ai = (z * m + i) * k;
          const bj = (z * n + j) * k;
          let s = 0;
          for (let c = 0; c < k; c++) s += A[ai + c] * B[bj + c];
          Y[(z * m + i) * n + j] = s;
        }
  }

  attention(a: AttentionArgs): void {
    const { nTokens, nHeads, headDim, kv } = a;
    const group = nHeads / kv.length;
    const width = nHeads * headDim;
    const Q = this.heap.f32(a.queries, nTokens * width);
    const O = this.heap.f32(a.out, nTokens * width);
    const qPos = this.heap.i32(a.queryPositions, nTokens);
    const sumStride = a.maxKeys ?? Math.max(1, ...kv.map((k) => k.length));
    const sums = a.keySums === undefined ? undefined : this.heap.f32(a.keySums, kv.length * sumStride);
    if (sums) for (let i = 0; i < kv.length; i++) sums.fill(0, i * sumStride, i * sumStride + kv[i].length);
    for (let h = 0; h < nHeads; h++) {
      const head = kv[Math.floor(h / group)];
      const K = this.rows(a.keyType, head.keys, head.length, headDim);
      const V = this.rows(a.valueType, head.values, head.length, headDim);
      const kPos = this.heap.i32(head.positions, head.length);
      const scores = new Float64Array(head.length);
      for (let t = 0; t < nTokens; t++) {
        const qo = t * width + h * headDim;
        // Positions increase along the cache, so the visible keys are a prefix.
        let visible = 0;
        while (visible < head.length && kPos[visible] <= qPos[t]) visible++;
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < visible; j++) {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += Q[qo + d] * K[j * headDim + d];
          scores[j] = s * a.scale;
          if (scores[j] > max) max = scores[j];
        }
        let sum = 0;
        for (let j = 0; j < visible; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (let d = 0; d < headDim; d++) O[qo + d] = 0;
        for (let j = 0; j < visible; j++) {
          const p = scores[j] / sum;
          scores[j] = p;
          if (sums) sums[Math.floor(h / group) * sumStride + j] += p;
          for (let d = 0; d < headDim; d++) O[qo + d] += p * V[j * headDim + d];
        }
        if (a.probs !== undefined) {
          const maxKeys = a.maxKeys ?? head.length;
          const P = this.heap.f32(a.probs + (h * nTokens + t) * maxKeys * 4, head.length);
          for (let j = 0; j < head.length; j++) P[j] = j < visible ? scores[j] : 0;
        }
      }
    }
  }

  swiglu(gate: number, up: number, count: number): void {
    const g = this.heap.f32(gate, count);
    const u = this.heap.f32(up, count);
    for (let i = 0; i < count; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
  }

  encodeKvRows(type: GgmlType, dst: number, src: number, srcStride: number, n: number, d: number): void {
    const layout = BLOCK_LAYOUT[type];
    if (!layout) throw new Error(`encodeKvRows: no layout for cache type ${type}`);
    const rowBytes = (d * layout.bytes) / layout.elements;
    for (let t = 0; t < n; t++)
      quantizeInto(type, this.heap.f32(src + t * srcStride, d), this.heap.u8(dst + t * rowBytes, rowBytes));
  }

  /** `n` stored rows of `headDim` values as f32 `[n][headDim]`. */
  private rows(type: GgmlType, ptr: number, n: number, headDim: number): Float32Array {
    const layout = BLOCK_LAYOUT[type];
    if (!layout) throw new Error(`attention: no layout for cache type ${type}`);
    const bytes = this.heap.u8(ptr, (n * headDim * layout.bytes) / layout.elements);
    return dequantize(type, bytes, n * headDim);
  }

  async close(): Promise<void> {}
}
