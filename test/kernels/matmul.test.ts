// WASM matmul against the reference for every supported weight type, in both SIMD builds and with one and
// two threads. Integer types quantize the activations to int8 (one scale per 32 values for the 32-value
// block types, per 256 for K-quants, as llama.cpp does), which costs up to about 0.6% of the output's
// scale here; the bounds below leave a margin of about three.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GgmlType } from '../../src/gguf/types.js';
import type { Backend } from '../../src/kernels/backend.js';
import { Heap } from '../../src/kernels/heap.js';
import { RefBackend } from '../../src/kernels/ref.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { put, randomF32, randomWeights, relMaxError, rng } from './helpers.js';

const FLOAT = [GgmlType.F32, GgmlType.F16, GgmlType.BF16];
const LEGACY = [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1];
const KQUANT = [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

/** Bound on max|wasm − ref| / max|ref|: f32 rounding for floats, int8 activations otherwise. */
function tolerance(type: GgmlType): number {
  if (FLOAT.includes(type)) return 1e-5;
  return LEGACY.includes(type) ? 1.5e-2 : 2e-2;
}

/** Column counts that exercise tails: not a multiple of 4 (floats), an odd number of 32-blocks. */
function colsFor(type: GgmlType): number[] {
  if (FLOAT.includes(type)) return [37, 512];
  if (LEGACY.includes(type)) return [96, 512];
  return [512];
}

for (const [threads, relaxed] of [
  [1, true],
  [2, true],
  [2, false],
] as const) {
  describe(`wasm matmul, ${threads} thread(s), ${relaxed ? 'relaxed' : 'portable'} SIMD`, () => {
    const heap = new Heap(64 << 20);
    const ref = new RefBackend(heap);
    let wasm: Backend;
    before(async () => {
      wasm = await createWasmBackend(heap, { threads, relaxed });
    });
    after(() => wasm.close());

    test('supports exactly the implemented types', () => {
      for (const t of [...FLOAT, ...LEGACY, ...KQUANT]) assert.equal(wasm.supports(t), true, GgmlType[t]);
      for (const t of [GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q8_K, GgmlType.I8])
        assert.equal(wasm.supports(t), false);
    });

    for (const type of [...FLOAT, ...LEGACY, ...KQUANT]) {
      test(`${GgmlType[type]} matches the reference`, () => {
        const next = rng(type * 1000 + threads);
        for (const cols of colsFor(type)) {
          const w = randomWeights(heap, type, 37, cols, next);
          for (const nTokens of [1, 3, 64]) {
            const x = put(heap, randomF32(nTokens * cols, next));
            const want = heap.alloc(nTokens * w.rows * 4);
            const got = heap.alloc(nTokens * w.rows * 4);
            ref.matmul(want, w, x, nTokens);
            wasm.matmul(got, w, x, nTokens);
            const err = relMaxError(heap.f32(want, nTokens * w.rows), heap.f32(got, nTokens * w.rows));
            assert.ok(err <= tolerance(type), `cols ${cols}, ${nTokens} tokens: error ${err}`);
            for (const p of [x, want, got]) heap.release(p);
          }
          heap.release(w.ptr);
        }
      });
    }
  });
}
