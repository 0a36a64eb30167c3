// The narrow waist between the model and its kernels. Everything lives in one shared Heap; arguments are
// byte offsets into it. Two implementations: `ref` (plain TypeScript, the truth) and `wasm` (SIMD, threads).
import type { GgmlType } from '../gguf/types.js';
import type { Heap } from './heap.js';

/** A weight matrix stored as in GGUF: `rows` rows of `cols` elements, each row a run of quant blocks. */
export interface WeightMatrix {
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
  /** Byte offset of row 0 in the heap. */
  readonly ptr: number;
  /** Bytes of one row. */
  readonly rowBytes: number;
}

/**
 * One KV head's kept tokens: keys and values `[length]` rows of headDim values in the cache's storage types
 * (KvStorage), positions i32 `[length]`, increasing.
 */
export interface KvHeadView {
  keys: number;
  values: number;
  positions: number;
  length: number;
}

/** How a cache stores its rows: F32, F16, Q8_0 or Q4_0 (ggml's block layouts), for keys and values apart. */
export interface KvStorage {
  keyType: GgmlType;
  valueType: GgmlType;
}

/**
 * Causal attention for one layer. Queries are f32 `[nTokens][nHeads * headDim]`; query head h reads KV head
 * `floor(h / (nHeads / nKvHeads))` (GQA). Query token t at position `queryPositions[t]` sees exactly the kept
 * keys whose position is <= its own. Output has the queries' layout.
 */
export interface AttentionArgs extends KvStorage {
  out: number;
  queries: number;
  nTokens: number;
  nHeads: number;
  headDim: number;
  /** i32 `[nTokens]`. */
  queryPositions: number;
  /** `[nKvHeads]`. */
  kv: readonly KvHeadView[];
  scale: number;
  /**
   * If set, f32 `[nHeads][nTokens][maxKeys]` receives the softmax probabilities (row h,t covers the first
   * kv[h/group].length entries; the rest of the row is left untouched). Only computed when a press asks.
   */
  probs?: number;
  maxKeys?: number;
  /**
   * If set, f32 `[nKvHeads][maxKeys]` receives, per KV head, the probability each key received summed over the
   * group's query heads and the call's queries (each head's first `length` entries; the rest untouched). What
   * an accumulating press (H2O) needs, without the whole probability matrix.
   */
  keySums?: number;
}

export interface Backend {
  readonly name: string;
  readonly heap: Heap;
  /** True if `matmul` accepts weights of this type as stored; the loader converts other types. */
  supports(type: GgmlType): boolean;
  /** out f32 `[nTokens][w.rows]` = x f32 `[nTokens][w.cols]` · wᵀ. */
  matmul(out: number, w: WeightMatrix, x: number, nTokens: number): void;
  attention(args: AttentionArgs): void;
  /**
   * Dense f32 products, matrix by matrix: out `[batch][m][n]` = a `[batch][m][k]` · (b `[batch][n][k]`)ᵀ. For
   * presses whose scoring is linear algebra over the cache (LayerState.product).
   */
  product(out: number, a: number, b: number, m: number, n: number, k: number, batch: number): void;
  /** SwiGLU in place: gate[i] = SiLU(gate[i]) · up[i] over `count` f32 values. */
  swiglu(gate: number, up: number, count: number): void;
  /**
   * Stores `n` rows of `d` f32 values (row t at `src + t·srcStride` bytes) as `n` consecutive rows of a KV
   * cache type (f32, f16, q8_0, q4_0) at `dst`, byte for byte as quantizeInto writes them.
   */
  encodeKvRows(type: GgmlType, dst: number, src: number, srcStride: number, n: number, d: number): void;
  /** Stops worker threads, if any. */
  close(): Promise<void>;
}
