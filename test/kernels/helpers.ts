// Shared pieces of the kernel tests: a seeded generator and heap-resident test data.
import { quantize } from '../../src/gguf/quants.js';
import type { GgmlType } from '../../src/gguf/types.js';
import type { WeightMatrix } from '../../src/kernels/backend.js';
import type { Heap } from '../../src/kernels/heap.js';

/** mulberry32: deterministic uniform numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomF32(n: number, next: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (next() * 2 - 1) * scale;
  return a;
}

/** Copies `data` into a fresh heap block and returns its offset. */
export function put(heap: Heap, data: Float32Array | Int32Array | Uint8Array): number {
  const ptr = heap.alloc(data.byteLength);
  heap.u8(ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return ptr;
}

/** A random `rows × cols` matrix stored as `type` in the heap. */
export function randomWeights(
  heap: Heap,
  type: GgmlType,
  rows: number,
  cols: number,
  next: () => number,
): WeightMatrix {
  const bytes = quantize(type, randomF32(rows * cols, next));
  return { type, rows, cols, ptr: put(heap, bytes), rowBytes: bytes.length / rows };
}

/** max |a - b| / max |a|: the error relative to the output's scale. */
export function relMaxError(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let mag = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(a[i]));
  }
  return err / (mag || 1);
}
