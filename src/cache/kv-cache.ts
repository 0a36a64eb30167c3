// The KV cache: per layer and per KV head, its own list of kept tokens (keys post-RoPE, values, original
// positions), stored contiguously in the shared heap so the attention kernels read it in place. Heads may hold
// different tokens and different counts. Evicting tokens compacts the list and gives memory back to the heap.
import type { Backend, KvHeadView } from '../kernels/backend.js';
import type { Heap } from '../kernels/heap.js';
import type { AttentionProbs, KeepSets, LayerState } from '../presses/press.js';

/** One KV head's storage: `capacity` slots, the first `length` in use, in increasing position order. */
class HeadStore implements KvHeadView {
  keys = 0;
  values = 0;
  positions = 0;
  length = 0;
  capacity = 0;

  constructor(
    private readonly heap: Heap,
    private readonly headDim: number,
  ) {}

  get bytes(): number {
    return this.capacity * (2 * this.headDim + 1) * 4;
  }

  /** Moves the contents to fresh storage of `capacity` slots (growing or shrinking). */
  resize(capacity: number): void {
    const d = this.headDim;
    const keys = capacity > 0 ? this.heap.alloc(capacity * d * 4) : 0;
    const values = capacity > 0 ? this.heap.alloc(capacity * d * 4) : 0;
    const positions = capacity > 0 ? this.heap.alloc(capacity * 4) : 0;
    const n = Math.min(this.length, capacity);
    if (n > 0) {
      this.heap.f32(keys, n * d).set(this.heap.f32(this.keys, n * d));
      this.heap.f32(values, n * d).set(this.heap.f32(this.values, n * d));
      this.heap.i32(positions, n).set(this.heap.i32(this.positions, n));
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

export class KvCache {
  /** `[layers][kvHeads]`. */
  private readonly heads: HeadStore[][];
  /** Tokens appended so far per layer (kept or not). */
  private seen: number[];

  constructor(
    private readonly heap: Heap,
    readonly shape: KvCacheShape,
    /** Gives press states `attend` (scoring queries against the cache); without it they have none. */
    private readonly backend?: Backend,
  ) {
    this.heads = Array.from({ length: shape.nLayers }, () =>
      Array.from({ length: shape.nKvHeads }, () => new HeadStore(heap, shape.headDim)),
    );
    this.seen = new Array(shape.nLayers).fill(0);
  }

  /** Tokens that went through the cache (the context length), whatever was evicted since. */
  get tokensSeen(): number {
    return this.seen[this.seen.length - 1];
  }

  /** Highest position held + 1 over all heads of layer 0, i.e. where the next token goes. */
  get nextPosition(): number {
    let next = 0;
    for (const h of this.heads[0]) {
      if (h.length > 0) next = Math.max(next, this.heap.i32(h.positions, h.length)[h.length - 1] + 1);
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

  /**
   * Appends `n` tokens to every head of `layer`. keys/values are f32 `[n][nKvHeads * headDim]` (the layout the
   * projections produce); positions i32 `[n]`, each larger than anything already held.
   */
  append(layer: number, keys: Float32Array, values: Float32Array, positions: Int32Array, n: number): void {
    const { nKvHeads, headDim: d } = this.shape;
    const stride = nKvHeads * d;
    for (let h = 0; h < nKvHeads; h++) {
      const s = this.heads[layer][h];
      // Modest growth keeps a full cache's slack under ~1/8 while copies stay amortised.
      if (s.length + n > s.capacity)
        s.resize(Math.max(s.length + n, Math.ceil((s.capacity * 1.125) / 64) * 64));
      const K = this.heap.f32(s.keys + s.length * d * 4, n * d);
      const V = this.heap.f32(s.values + s.length * d * 4, n * d);
      for (let t = 0; t < n; t++) {
        K.set(keys.subarray(t * stride + h * d, t * stride + (h + 1) * d), t * d);
        V.set(values.subarray(t * stride + h * d, t * stride + (h + 1) * d), t * d);
      }
      this.heap.i32(s.positions + s.length * 4, n).set(positions.subarray(0, n));
      s.length += n;
    }
    this.seen[layer] += n;
  }

  /** Reads one head's kept data (copies). Shapes: keys/values `[length][headDim]`, positions `[length]`. */
  read(layer: number, head: number): { keys: Float32Array; values: Float32Array; positions: Int32Array } {
    const s = this.heads[layer][head];
    const d = this.shape.headDim;
    return {
      keys: this.heap.f32(s.keys, s.length * d).slice(),
      values: this.heap.f32(s.values, s.length * d).slice(),
      positions: this.heap.i32(s.positions, s.length).slice(),
    };
  }

  /**
   * Keeps only the tokens at `indices` (into the head's current list, strictly increasing) and frees the
   * rest: storage shrinks to fit, so the memory of evicted tokens really goes back to the heap.
   */
  keep(layer: number, head: number, indices: ArrayLike<number>): void {
    const s = this.heads[layer][head];
    const d = this.shape.headDim;
    const K = this.heap.f32(s.keys, s.length * d);
    const V = this.heap.f32(s.values, s.length * d);
    const P = this.heap.i32(s.positions, s.length);
    let prev = -1;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i <= prev || i >= s.length) {
        throw new RangeError(
          `keep(): indices must be strictly increasing within [0, ${s.length}), got ${i} after ${prev}`,
        );
      }
      prev = i;
      if (i !== j) {
        K.copyWithin(j * d, i * d, (i + 1) * d);
        V.copyWithin(j * d, i * d, (i + 1) * d);
        P[j] = P[i];
      }
    }
    s.length = indices.length;
    if (s.capacity > s.length + 16) s.resize(s.length);
  }

  /** A press's view of one layer (views are valid until the cache changes). */
  layerState(layer: number, groupSize: number): LayerState {
    const heads = this.heads[layer];
    const { nLayers, nKvHeads, headDim } = this.shape;
    const heap = this.heap;
    const backend = this.backend;
    return {
      attend: backend && ((q, n, pos) => this.attend(backend, layer, groupSize, q, n, pos)),
      layer,
      nLayers,
      nKvHeads,
      groupSize,
      headDim,
      seen: this.seen[layer],
      length: (h) => heads[h].length,
      keys: (h) => heap.f32(heads[h].keys, heads[h].length * headDim),
      values: (h) => heap.f32(heads[h].values, heads[h].length * headDim),
      positions: (h) => heap.i32(heads[h].positions, heads[h].length),
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
    const heap = this.heap;
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
        scale: 1 / Math.sqrt(headDim),
        probs,
        maxKeys,
      });
      return { probs: heap.f32(probs, nHeads * nQueries * maxKeys).slice(), maxKeys };
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

  /** Bytes of heap the cache holds right now. */
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
    for (const layer of this.heads) {
      for (let h = 0; h < layer.length; h++) {
        const s = layer[h];
        const P = this.heap.i32(s.positions, s.length);
        let n = s.length;
        while (n > 0 && P[n - 1] >= from) n--;
        s.length = n;
      }
    }
    this.seen = this.seen.map((x) => Math.min(x, seen));
  }

  clear(): void {
    for (const layer of this.heads) for (const h of layer) h.release();
    this.seen.fill(0);
  }
}
