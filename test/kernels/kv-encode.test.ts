// The WASM kernel that writes new keys and values into the cache's storage type, against the TypeScript
// encoders of src/gguf/quants.ts (ggml's fp32_to_fp16 and quantize_row_q8_0_ref / q4_0_ref): the same bytes
// for every type, from rows strided as the projections lay them out, for ordinary values and for every
// f16 rounding case (exact halves, ties to even on both sides, subnormals, overflow, infinities, NaN).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { f16ToF32, quantizeInto } from '../../src/gguf/quants.js';
import { BLOCK_LAYOUT, GgmlType } from '../../src/gguf/types.js';
import { Heap } from '../../src/kernels/heap.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { put, randomF32, rng } from './helpers.js';

const heap = new Heap(64 << 20);
const wasm = await createWasmBackend(heap, { threads: 2 });
after(() => wasm.close());

/** Values around every finite half: the half itself, the midpoints to its neighbours, and one f32 ulp either side. */
function f16Cases(): Float32Array {
  const out: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const nudge = (x: number, ulps: number) => {
    f[0] = x;
    u[0] += ulps;
    return f[0];
  };
  for (let h = 0; h < 0x7c00; h++) {
    for (const sign of [1, -1]) {
      const x = sign * f16ToF32(h);
      const next = sign * (h + 1 < 0x7c00 ? f16ToF32(h + 1) : 65536);
      const mid = Math.fround((x + next) / 2);
      out.push(x, mid, nudge(mid, 1), nudge(mid, -1));
    }
  }
  out.push(
    65504,
    65519.99,
    65520,
    70000,
    1e10,
    3e38,
    Infinity,
    -Infinity,
    Number.NaN,
    -Number.NaN,
    1e-8,
    -3e-8,
    1e-45,
  );
  while (out.length % 64 !== 0) out.push(0);
  return Float32Array.from(out);
}

/** Encodes head 1 of `rows` tokens × 3 heads × d with the kernel, and with quantizeInto, and compares bytes. */
function compare(type: GgmlType, data: Float32Array, d: number): void {
  const heads = 3;
  const rows = data.length / d;
  const strided = new Float32Array(rows * heads * d).fill(7);
  for (let t = 0; t < rows; t++) strided.set(data.subarray(t * d, (t + 1) * d), (t * heads + 1) * d);
  const layout = BLOCK_LAYOUT[type];
  assert.ok(layout);
  const rowBytes = (d * layout.bytes) / layout.elements;
  const src = put(heap, strided);
  const dst = heap.alloc(rows * rowBytes);
  wasm.encodeKvRows(type, dst, src + d * 4, heads * d * 4, rows, d);
  const got = heap.u8(dst, rows * rowBytes).slice();
  const want = new Uint8Array(rows * rowBytes);
  quantizeInto(type, data, want);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      const row = Math.floor(i / rowBytes);
      assert.fail(
        `type ${type}: byte ${i} (row ${row}) is ${got[i]}, want ${want[i]}; row values ${data.subarray(row * d, row * d + 8).join(', ')}…`,
      );
    }
  }
  heap.release(src);
  heap.release(dst);
}

test('f16: every half, every tie and its neighbours, overflow, infinities and NaN give ggml’s bits', () => {
  compare(GgmlType.F16, f16Cases(), 64);
});

for (const [name, type] of [
  ['f32', GgmlType.F32],
  ['f16', GgmlType.F16],
  ['q8_0', GgmlType.Q8_0],
  ['q4_0', GgmlType.Q4_0],
] as const) {
  test(`${name}: random rows (head dims 64 and 128) and awkward blocks match quantizeInto byte for byte`, () => {
    const next = rng(11);
    for (const d of [64, 128]) compare(type, randomF32(40 * d, next, 3), d);
    // Blocks of zeros, of one value, of exact .5 ties after scaling, with huge and tiny values, and with a NaN.
    const awkward = new Float32Array(64 * 8);
    for (let j = 0; j < 64; j++) {
      awkward[64 + j] = 1.25;
      awkward[128 + j] = (j - 32) * 0.5;
      awkward[192 + j] = j % 2 ? 1e30 : -1e-30;
      awkward[256 + j] = j % 3 ? 1e-39 : -2e-39;
      awkward[320 + j] = 127 * (j % 5) - 254;
      awkward[384 + j] = -8 + (j % 17) * 0.5;
      awkward[448 + j] = j === 5 ? Number.NaN : j;
    }
    compare(type, awkward, 64);
  });
}
