// The SIMD SwiGLU against the reference's Math.exp, over ordinary values and the ends of the range (where
// e^-g overflows or vanishes), with a count that is not a multiple of four.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Backend } from '../../src/kernels/backend.js';
import { Heap } from '../../src/kernels/heap.js';
import { RefBackend } from '../../src/kernels/ref.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { put, randomF32, rng } from './helpers.js';

test('swiglu: SiLU(gate) · up in place, within 1e-6 relative of the reference, extremes included', async () => {
  const heap = new Heap(16 << 20);
  const wasm = await createWasmBackend(heap, { threads: 2 });
  after(() => wasm.close());
  const ref = new RefBackend(heap);
  const next = rng(3);
  const n = 100_003;
  const gate = randomF32(n, next, 12);
  gate.set([0, -0, 1e-30, -1e-30, 87, -87, 88, -88, 100, -100, 1e4, -1e4, 3.5, -3.5]);
  const up = randomF32(n, next, 2);
  const run = (b: Backend) => {
    const g = put(heap, gate);
    const u = put(heap, up);
    b.swiglu(g, u, n);
    return heap.f32(g, n).slice();
  };
  const want = run(ref);
  const got = run(wasm);
  for (let i = 0; i < n; i++) {
    const tol = 1e-6 * Math.abs(want[i]) + 1e-30;
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `gate ${gate[i]}, up ${up[i]}: ${got[i]} vs ${want[i]}`);
  }
  // SiLU(-100)·u is about -3.7e-42·u: zero or a tiny subnormal, never NaN; SiLU(100)·u = 100·u.
  assert.ok(Number.isFinite(got[9]) && Math.abs(got[9]) < 1e-30);
  assert.equal(got[8], want[8]);
});
