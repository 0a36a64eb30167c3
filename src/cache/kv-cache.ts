// The KV cache: per layer and per KV head, its own list of kept tokens (keys post-RoPE, values, original
// positions), stored contiguously in the layer's heap so the attention kernels read it in place, in the
// cache's storage types (f16 by default; f32, q8_0, q4_0 as llama.cpp's --cache-type-k/-v). Heads may hold
// different tokens and different counts. Evicting tokens compacts the list and gives memory back to the heap.
import { dequantizeRow } from '../gguf/quants.js';
import type { Backend, KvHeadView, KvStorage } from '../kernels/backend.js';
import { copyOut, type Heap } from '../kernels/heap.js';
import type { AttentionProbs, KeepSets, LayerState } from '../presses/press.js';
import { type CacheType, checkCacheType, KV_GGML_TYPE, kvRowBytes } from './cache-type.js';

/** One KV head's storage: `capacity` slots, the first `length` in use, in increasing position order. */
class HeadStore implements KvHeadView {
  keys = 0;
  values = 0;
  positions = 0;
  length = 0;
  capacity = 0;

  constructor(
    private readonly heap: Heap,
    /** Bytes of one stored key row and one value row. */
    private readonly kBytes: number,
    private readonly vBytes: number,
  ) {}

  get bytes(): number {
    return this.capacity * (this.kBytes + this.vBytes + 4);
  }

  /** Moves the contents to fresh storage of `capacity` slots (growing or shrinking). */
  resize(capacity: number): void {
    const { heap, kBytes, vBytes } = this;
    const keys = capacity > 0 ? heap.alloc(capacity * kBytes) : 0;
    const values = capacity > 0 ? heap.alloc(capacity * vBytes) : 0;
    const positions = capacity > 0 ? heap.alloc(capacity * 4) : 0;
    const n = Math.min(this.length, capacity);
    if (n > 0) {
      heap.u8(keys, n * kBytes).set(heap.u8(this.keys, n * kBytes));
      heap.u8(values, n * vBytes).set(heap.u8(this.values, n * vBytes));
      heap.i32(positions, n).set(heap.i32(this.positions, n));
    }
    this.release();
    Object.assign(this, { keys, values, positions, capacity, length: n });
  }

  release(): void {
    if (this.capacity > 0) {
      this.heap.release(this.keys);
      this.heap.release(this.values);
      this.heap.release(this.positions);
    }
    this.capacity = 0;
    this.length = 0;
  }
}

export interface KvCacheShape {
  nLayers: number;
  nKvHeads: number;
  headDim: number;
}

/** Converted-row arrays a cache keeps for lending again, and the largest it keeps (4 MiB). */
const MAX_SPARE = 8;
const SPARE_FLOATS = 1 << 20;

export class KvCache {
  /** `[layers][kvHeads]`. */
  private readonly heads: HeadStore[][];
  /** Tokens appended so far per layer (kept or not). */
  private seen: number[];
  /** The storage types, as the kernels take them. */
  readonly storage: KvStorage;
  readonly type: CacheType;
  private readonly kBytes: number;
  private readonly vBytes: number;

  constructor(
    /** The backend of each layer (`[nLayers]`), or one for all: a layer's cache lives in its backend's heap. */
    backends: Backend | readonly Backend[],
    readonly shape: KvCacheShape,
    type: Partial<CacheType> = {},
  ) {
    this.type = checkCacheType(type, shape.headDim);
    this.storage = { keyType: KV_GGML_TYPE[this.type.k], valueType: KV_GGML_TYPE[this.type.v] };
    this.kBytes = kvRowBytes(this.type.k, shape.headDim);
    this.vBytes = kvRowBytes(this.type.v, shape.headDim);
    const perLayer = Array.isArray(backends) ? backends : new Array(shape.nLayers).fill(backends);
    if (perLayer.length !== shape.nLayers)
      throw new RangeError(`KvCache: ${perLayer.length} backends for ${shape.nLayers} layers`);
    this.backends = perLayer;
    this.heads = perLayer.map((b) =>
      Array.from({ length: shape.nKvHeads }, () => new HeadStore(b.heap, this.kBytes, this.vBytes)),
    );
    this.seen = new Array(shape.nLayers).fill(0);
  }

  private readonly backends: readonly Backend[];
  /**
   * f32 copies of converted rows lent to presses since the cache last changed (LayerState.keys/values of an
   * f16/q8_0/q4_0 cache), and spares to lend again: a press converting a head at every prefill chunk would
   * otherwise allocate, and fault in, a fresh array each time. Lent arrays go back with the next change,
   * which ends their validity anyway ("views stay valid until the cache changes").
   */
  private lent: Float32Array[] = [];
  private spare: Float32Array[] = [];

  /**
   * A change is coming: what was lent is spare again, up to MAX_SPARE arrays of at most SPARE_FLOATS each (a
   * press reading whole long heads once, at the end, gains nothing from memory kept for it).
   */
  private recycle(): void {
    if (this.lent.length === 0) return;
    const small = this.lent.filter((a) => a.length <= SPARE_FLOATS);
    this.spare = [...this.spare, ...small].sort((a, b) => b.length - a.length).slice(0, MAX_SPARE);
    this.lent = [];
  }

  /** An f32 array of `length` for a press: the smallest spare that holds it, else a new one. */
  private lend(length: number): Float32Array {
    let best = -1;
    this.spare.forEach((a, i) => {
      if (a.length >= length && (best < 0 || a.length < this.spare[best].length)) best = i;
    });
    const a = best >= 0 ? this.spare.splice(best, 1)[0] : new Float32Array(length);
    this.lent.push(a);
    return a.subarray(0, length);
  }

  private heap(layer: number): Heap {
    return this.backends[layer].heap;
  }

  /** Tokens that went through the cache (the context length), whatever was evicted since. */
  get tokensSeen(): number {
    return this.seen[this.seen.length - 1];
  }

  /** Highest position held + 1 over all heads of layer 0, i.e. where the next token goes. */
  get nextPosition(): number {
    let next = 0;
    for (let h = 0; h < this.shape.nKvHeads; h++) {
      const P = this.positions(0, h);
      if (P.length > 0) next = Math.max(next, P[P.length - 1] + 1);
    }
    return Math.max(next, this.tokensSeen);
  }

  views(layer: number): readonly KvHeadView[] {
    return this.heads[layer];
  }

  /** Kept tokens of one head. */
  length(layer: number, head: number): number {
    return this.heads[layer][head].length;
  }

  /** Original positions of one head's kept tokens, i32 `[length]` (a view: valid until the cache changes). */
  positions(layer: number, head: number): Int32Array {
    const s = this.heads[layer][head];
    return this.heap(layer).i32(s.positions, s.length);
  }

  /**
   * Appends `n` tokens to every head of `layer`. keys/values are f32 `[n][nKvHeads * headDim]` (the layout the
   * projections produce), stored in the cache's types; positions i32 `[n]`, each larger than anything held.
   */
  append(layer: number, keys: Float32Array, values: Float32Array, positions: Int32Array, n: number): void {
    const heap = this.heap(layer);
    const floats = n * this.shape.nKvHeads * this.shape.headDim;
    const k = heap.alloc(floats * 4);
    const v = heap.alloc(floats * 4);
    try {
      heap.f32(k, floats).set(keys.subarray(0, floats));
      heap.f32(v, floats).set(values.subarray(0, floats));
      this.appendAt(layer, k, v, positions, n);
    } finally {
      heap.release(k);
      heap.release(v);
    }
  }

  /** append, with the keys and values already in the layer's heap (byte offsets), where the model has them. */
  appendAt(layer: number, keys: number, values: number, positions: Int32Array, n: number): void {
    this.recycle();
    const { nKvHeads, headDim: d } = this.shape;
    const heap = this.heap(layer);
    const backend = this.backends[layer];
    const stride = nKvHeads * d * 4;
    for (let h = 0; h < nKvHeads; h++) {
      const s = this.heads[layer][h];
      // Modest growth keeps a full cache's slack under ~1/8 while copies stay amortised.
      if (s.length + n > s.capacity)
        s.resize(Math.max(s.length + n, Math.ceil((s.capacity * 1.125) / 64) * 64));
      const { keyType, valueType } = this.storage;
      backend.encodeKvRows(keyType, s.keys + s.length * this.kBytes, keys + h * d * 4, stride, n, d);
      backend.encodeKvRows(valueType, s.values + s.length * this.vBytes, values + h * d * 4, stride, n, d);
      heap.i32(s.positions + s.length * 4, n).set(positions.subarray(0, n));
      s.length += n;
    }
    this.seen[layer] += n;
  }

  /**
   * One head's keys or values as f32 `[length][headDim]`: for an f32 cache a view (or a copy if `copy`),
   * for the other types a dequantized copy (lent until the cache changes unless `copy`).
   */
  private rows(layer: number, head: number, which: 'keys' | 'values', copy = false, from = 0): Float32Array {
    const s = this.heads[layer][head];
    if (!Number.isInteger(from) || from < 0 || from > s.length)
      throw new RangeError(`${which}(): from must be a whole number in [0, ${s.length}], got ${from}`);
    const d = this.shape.headDim;
    const n = s.length - from;
    const heap = this.heap(layer);
    const type = which === 'keys' ? this.storage.keyType : this.storage.valueType;
    if (type === KV_GGML_TYPE.f32) {
      const view = heap.f32(s[which] + from * d * 4, n * d);
      return copy ? copyOut(view) : view;
    }
    const rowBytes = which === 'keys' ? this.kBytes : this.vBytes;
    const out = copy ? new Float32Array(n * d) : this.lend(n * d);
    dequantizeRow(type, heap.u8(s[which] + from * rowBytes, n * rowBytes), out, n * d);
    return out;
  }

  /** Reads one head's kept data (copies). Shapes: keys/values `[length][headDim]`, positions `[length]`. */
  read(layer: number, head: number): { keys: Float32Array; values: Float32Array; positions: Int32Array } {
    return {
      keys: this.rows(layer, head, 'keys', true),
      values: this.rows(layer, head, 'values', true),
      positions: copyOut(this.positions(layer, head)),
    };
  }

  /**
   * Keeps only the tokens at `indices` (into the head's current list, strictly increasing) and frees the
   * rest: storage shrinks to fit, so the memory of evicted tokens really goes back to the heap.
   */
  keep(layer: number, head: number, indices: ArrayLike<number>): void {
    this.recycle();
    const s = this.heads[layer][head];
    const heap = this.heap(layer);
    const { kBytes, vBytes } = this;
    const K = heap.u8(s.keys, s.length * kBytes);
    const V = heap.u8(s.values, s.length * vBytes);
    const P = heap.i32(s.positions, s.length);
    let prev = -1;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i <= prev || i >= s.length) {
        throw new RangeError(
          `keep(): indices must be strictly increasing within [0, ${s.length}), got ${i} after ${prev}`,
        );
      }
      prev = i;
    }
    // Runs of consecutive kept tokens move in one copy each: a press that drops one token a step (StreamingLLM,
    // H2O, TOVA while decoding) moves the rest of the head at once instead of row by row. Sources lie at or
    // after their destinations (indices[j] ≥ j), so copying the runs in order never overwrites a later one.
    for (let j = 0; j < indices.length; ) {
      const i = indices[j];
      let end = j + 1;
      while (end < indices.length && indices[end] === i + (end - j)) end++;
      const n = end - j;
      if (i !== j) {
        K.copyWithin(j * kBytes, i * kBytes, (i + n) * kBytes);
        V.copyWithin(j * vBytes, i * vBytes, (i + n) * vBytes);
        P.copyWithin(j, i, i + n);
      }
      j = end;
    }
    s.length = indices.length;
    if (s.capacity > s.length + 16) s.resize(s.length);
  }

  /**
   * A press's view of one layer. Keys and values come as f32: views of an f32 cache (valid until the cache
   * changes), or per-head copies dequantized on each call for the other types.
   */
  layerState(layer: number, groupSize: number): LayerState {
    const heads = this.heads[layer];
    const { nLayers, nKvHeads, headDim } = this.shape;
    const backend = this.backends[layer];
    return {
      attend: (q, n, pos) => this.attend(backend, layer, groupSize, q, n, pos),
      product: (a, b, m, n, k, batch, out) => product(backend, a, b, m, n, k, batch, out),
      layer,
      nLayers,
      nKvHeads,
      groupSize,
      headDim,
      seen: this.seen[layer],
      length: (h) => heads[h].length,
      keys: (h, from) => this.rows(layer, h, 'keys', false, from),
      values: (h, from) => this.rows(layer, h, 'values', false, from),
      positions: (h) => this.positions(layer, h),
    };
  }

  /** LayerState.attend: the backend's attention kernel over this layer's kept tokens, probabilities copied out. */
  private attend(
    backend: Backend,
    layer: number,
    groupSize: number,
    queries: Float32Array,
    nQueries: number,
    positions: ArrayLike<number>,
  ): AttentionProbs {
    const { nKvHeads, headDim } = this.shape;
    const nHeads = nKvHeads * groupSize;
    const width = nHeads * headDim;
    if (
      !Number.isInteger(nQueries) ||
      nQueries < 1 ||
      queries.length < nQueries * width ||
      positions.length < nQueries
    )
      throw new RangeError(`attend(): need ${nQueries} queries of ${width} floats and their positions`);
    const kv = this.heads[layer];
    const maxKeys = Math.max(1, ...kv.map((h) => h.length));
    const heap = backend.heap;
    const q = heap.alloc(nQueries * width * 4);
    const out = heap.alloc(nQueries * width * 4);
    const pos = heap.alloc(nQueries * 4);
    const probs = heap.alloc(nHeads * nQueries * maxKeys * 4);
    try {
      heap.f32(q, nQueries * width).set(queries.subarray(0, nQueries * width));
      const P = heap.i32(pos, nQueries);
      for (let i = 0; i < nQueries; i++) P[i] = positions[i];
      heap.f32(probs, nHeads * nQueries * maxKeys).fill(0);
      backend.attention({
        out,
        queries: q,
        nTokens: nQueries,
        nHeads,
        headDim,
        queryPositions: pos,
        kv,
        ...this.storage,
        scale: 1 / Math.sqrt(headDim),
        probs,
        maxKeys,
      });
      return { probs: copyOut(heap.f32(probs, nHeads * nQueries * maxKeys)), maxKeys };
    } finally {
      for (const p of [q, out, pos, probs]) heap.release(p);
    }
  }

  /** Applies a press's decision for one layer. */
  apply(layer: number, keep: KeepSets): void {
    if (keep.length !== this.shape.nKvHeads) {
      throw new RangeError(`a press returned ${keep.length} keep sets for ${this.shape.nKvHeads} KV heads`);
    }
    keep.forEach((k, h) => {
      if (k !== null) this.keep(layer, h, k);
    });
  }

  /** Bytes of heap the cache holds right now (its storage types' real sizes, slack included). */
  get bytes(): number {
    let b = 0;
    for (const layer of this.heads) for (const h of layer) b += h.bytes;
    return b;
  }

  /** Total kept token slots over all layers and heads. */
  get keptTokens(): number {
    let n = 0;
    for (const layer of this.heads) for (const h of layer) n += h.length;
    return n;
  }

  /**
   * Drops everything from position `from` on (used to rewind a conversation). `seen` is the token count
   * afterwards when it is not `from` (a probe placed past tokens not yet fed, as LASER-KV's block probes).
   */
  truncate(from: number, seen = from): void {
    this.recycle();
    this.heads.forEach((layer, l) => {
      for (let h = 0; h < layer.length; h++) {
        const s = layer[h];
        const P = this.positions(l, h);
        let n = s.length;
        while (n > 0 && P[n - 1] >= from) n--;
        s.length = n;
      }
    });
    this.seen = this.seen.map((x) => Math.min(x, seen));
  }

  clear(): void {
    this.lent = [];
    this.spare = [];
    for (const layer of this.heads) for (const h of layer) h.release();
    this.seen.fill(0);
  }
}

/** LayerState.product: the backend's batched a·bᵀ, through heap copies of its operands. */
function product(
  backend: Backend,
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  batch = 1,
  into?: Float32Array,
): Float32Array {
  const whole = (x: number) => Number.isInteger(x) && x >= 1;
  if (![m, n, k, batch].every(whole) || a.length < batch * m * k || b.length < batch * n * k)
    throw new RangeError(
      `product(): need a [${batch}][${m}][${k}] and b [${batch}][${n}][${k}], got ${a.length} and ${b.length} floats`,
    );
  if (into && into.length < batch * m * n)
    throw new RangeError(`product(): out has ${into.length} floats, ${batch * m * n} needed`);
  const heap = backend.heap;
  const pa = heap.alloc(batch * m * k * 4);
  const pb = a === b && m === n ? pa : heap.alloc(batch * n * k * 4);
  const out = heap.alloc(batch * m * n * 4);
  try {
    heap.f32(pa, batch * m * k).set(a.subarray(0, batch * m * k));
    if (pb !== pa) heap.f32(pb, batch * n * k).set(b.subarray(0, batch * n * k));
    backend.product(out, pa, pb, m, n, k, batch);
    const result = heap.f32(out, batch * m * n);
    if (!into) return copyOut(result);
    into.set(result);
    return into.subarray(0, batch * m * n);
  } finally {
    for (const p of new Set([pa, pb, out])) heap.release(p);
  }
}
