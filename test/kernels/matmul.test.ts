// WASM matmul against the reference for every supported weight type, in both SIMD builds and with one and
// two threads. Integer types quantize the activations to int8 (one scale per 32 values for the 32-value
// block types, per 256 for K-quants, as llama.cpp does), which costs up to about 0.6% of the output's
// scale here; the bounds below leave a margin of about three.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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

    test("batched dense products (a press's a·bᵀ) match the reference, a = b included", () => {
      const next = rng(77 + threads);
      for (const [m, n, k, batch] of [
        [1, 1, 1, 1],
        [5, 17, 3, 2],
        [64, 64, 31, 9],
        [130, 195, 64, 1],
      ]) {
        const a = put(heap, randomF32(batch * m * k, next));
        const b = put(heap, randomF32(batch * n * k, next));
        const want = heap.alloc(batch * m * n * 4);
        const got = heap.alloc(batch * m * n * 4);
        for (const [x, y, rows] of [
          [a, b, n],
          [a, a, m],
        ]) {
          if (x === y && m !== n) continue;
          ref.product(want, x, y, m, rows, k, batch);
          wasm.product(got, x, y, m, rows, k, batch);
          const err = relMaxError(heap.f32(want, batch * m * rows), heap.f32(got, batch * m * rows));
          assert.ok(err <= 1e-5, `[${batch}][${m}][${rows}] over ${k}: error ${err}`);
        }
        for (const p of [a, b, want, got]) heap.release(p);
      }
    });
  });
}

// The dot-add build needs i32x4.relaxed_dot_i8x16_i7x16_add_s exact on unsigned bytes up to 255 (its Q8_0
// prefill feeds it activations + 128), as V8 gives it on CPUs with VNNI from Node 24 on; its integer sums
// are exact, so it must agree with the relaxed build bit for bit. Node 20's V8 gets the op wrong, and
// Node 22's lowers it through pmaddubsw, which saturates on those bytes: there the backend must refuse it.
const vnni =
  existsSync('/proc/cpuinfo') && /\b(avx_vnni|avx512_vnni)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

describe('the dot-add build', () => {
  test('is used only where correct, and then gives the relaxed build’s results bit for bit', async (t) => {
    const heap = new Heap(32 << 20);
    const plain = await createWasmBackend(heap, { threads: 2, dotAdd: false });
    const auto = await createWasmBackend(heap, { threads: 2 });
    after(() => Promise.all([plain.close(), auto.close()]));
    const major = Number(process.versions.node.split('.')[0]);
    if (major >= 24 && vnni)
      assert.match(auto.name, /relaxed-dot/, 'Node 24 on a VNNI CPU gets the dot-add build');
    if (major < 22) assert.doesNotMatch(auto.name, /relaxed-dot/);
    if (!/relaxed-dot/.test(auto.name)) {
      await assert.rejects(createWasmBackend(heap, { dotAdd: true }), /dot-add/);
      t.skip(
        `Node ${process.version} here does not compute the dot-add exactly: the build is refused, as it should be`,
      );
      return;
    }
    const next = rng(77);
    for (const type of [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_1]) {
      const w = randomWeights(heap, type, 41, 256, next);
      for (const nTokens of [1, 5, 40]) {
        const x = put(heap, randomF32(nTokens * 256, next));
        const a = heap.alloc(nTokens * 41 * 4);
        const b = heap.alloc(nTokens * 41 * 4);
        plain.matmul(a, w, x, nTokens);
        auto.matmul(b, w, x, nTokens);
        assert.deepEqual(
          heap.f32(b, nTokens * 41),
          heap.f32(a, nTokens * 41),
          `${GgmlType[type]} × ${nTokens}`,
        );
      }
    }
  });
});
