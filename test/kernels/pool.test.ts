// The worker pool's lifecycle: a closed backend lets the process exit, and threads are reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GgmlType } from '../../src/gguf/types.js';
import { Heap } from '../../src/kernels/heap.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { put, randomF32, randomWeights, rng } from './helpers.js';

test('a process exits by itself after close()', () => {
  const fixture = fileURLToPath(new URL('./fixtures/close.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'the child had to be killed: something kept it alive');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /closed/);
});

test('a trapping kernel throws instead of hanging, and the pool keeps working', async () => {
  const heap = new Heap();
  const b = await createWasmBackend(heap, { threads: 2 });
  const next = rng(3);
  const w = randomWeights(heap, GgmlType.Q8_0, 64, 256, next);
  const x = put(heap, randomF32(256, next));
  const out = heap.alloc(64 * 4);
  // Rows far past the end of memory: every chunk traps on its first load.
  const outside = { ...w, ptr: heap.capacity + (1 << 20) };
  // The worker's copy of the error also goes to stderr.
  assert.throws(() => b.matmul(out, outside, x, 1), /out of bounds|kernel worker failed/);
  b.matmul(out, w, x, 1);
  assert.ok(heap.f32(out, 64).some((v) => v !== 0));
  await b.close();
});

test('the backend name tells the build and the thread count', async () => {
  const b = await createWasmBackend(new Heap(), { threads: 2, relaxed: false });
  assert.equal(b.name, 'wasm×2');
  await b.close();
});

test('two threads give bit-identical results to one over many back-to-back ops', async () => {
  const heap = new Heap(32 << 20);
  const one = await createWasmBackend(heap, { threads: 1 });
  const two = await createWasmBackend(heap, { threads: 2 });
  const next = rng(11);
  const types = [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16];
  const weights = types.map((t) => randomWeights(heap, t, 67, 256, next));
  const x = put(heap, randomF32(8 * 256, next));
  const a = heap.alloc(8 * 67 * 4);
  const b = heap.alloc(8 * 67 * 4);
  // Ops come faster than a parked worker wakes up, so this exercises claiming, late workers and reuse.
  for (let i = 0; i < 3000; i++) {
    const w = weights[i % weights.length];
    const nTokens = i % 7 === 0 ? 8 : 1;
    one.matmul(a, w, x, nTokens);
    two.matmul(b, w, x, nTokens);
    const n = nTokens * w.rows;
    assert.deepEqual(heap.f32(b, n), heap.f32(a, n), `op ${i}`);
  }
  await one.close();
  await two.close();
});
