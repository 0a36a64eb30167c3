// quantize → dequantize on random and edge-case data, with per-type error bounds derived from each format,
// plus a few inputs whose blocks are exactly representable and whose bytes are worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dequantize, quantize } from '../../src/gguf/quants.js';
import { BLOCK_LAYOUT, GgmlType } from '../../src/gguf/types.js';
import { rng } from './quant-vectors.js';

/** Roughly Gaussian weights with occasional outliers and an offset per 32-block, like real tensors. */
function randomData(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    if (i % 32 === 0) offset = (r() - 0.5) * 0.2;
    const g = (r() + r() + r() + r() - 2) * 0.9;
    x[i] = offset + g * (r() < 0.01 ? 8 : 1);
  }
  return x;
}

const F16_REL = 2 ** -11; // relative rounding error of a normal f16

function roundTrip(type: GgmlType, x: Float32Array): Float32Array {
  const q = quantize(type, x);
  const layout = BLOCK_LAYOUT[type]!;
  assert.equal(q.length, (x.length / layout.elements) * layout.bytes);
  return dequantize(type, q, x.length);
}

function relRmse(x: Float32Array, y: Float32Array): number {
  let se = 0;
  let sx = 0;
  for (let i = 0; i < x.length; i++) {
    se += (x[i] - y[i]) ** 2;
    sx += x[i] ** 2;
  }
  return Math.sqrt(se / sx);
}

/** Checks |x - y| ≤ bound(block) for every element of every 32-element block. */
function checkBlocks(
  x: Float32Array,
  y: Float32Array,
  bound: (b: Float32Array) => number,
  what: string,
): void {
  for (let o = 0; o < x.length; o += 32) {
    const b = x.subarray(o, o + 32);
    const limit = bound(b);
    for (let j = 0; j < 32; j++) {
      const err = Math.abs(x[o + j] - y[o + j]);
      if (err > limit) assert.fail(`${what}: element ${o + j} error ${err} > bound ${limit}`);
    }
  }
}

const amaxOf = (b: Float32Array) => b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const minOf = (b: Float32Array) => b.reduce((m, v) => Math.min(m, v), Infinity);
const maxOf = (b: Float32Array) => b.reduce((m, v) => Math.max(m, v), -Infinity);

const N = 256 * 16;

test('F16 and BF16 round trips stay within half an ulp', () => {
  const x = randomData(N, 1);
  const h = roundTrip(GgmlType.F16, x);
  const b = roundTrip(GgmlType.BF16, x);
  for (let i = 0; i < N; i++) {
    if (Math.abs(x[i]) < 2 ** -14) continue; // f16 subnormals have an absolute, not relative, step
    assert.ok(Math.abs(h[i] - x[i]) <= Math.abs(x[i]) * F16_REL, `f16 ${x[i]} → ${h[i]}`);
    assert.ok(Math.abs(b[i] - x[i]) <= Math.abs(x[i]) * 2 ** -8, `bf16 ${x[i]} → ${b[i]}`);
  }
  assert.deepEqual(roundTrip(GgmlType.F32, x), x);
});

test('Q8_0: error ≤ d/2 per block, plus the f16 rounding of d', () => {
  const x = randomData(N, 2);
  // d = amax/127; stored d differs by ≤ d·2^-11, which moves q·d by ≤ 127·d·2^-11.
  checkBlocks(
    x,
    roundTrip(GgmlType.Q8_0, x),
    (b) => (amaxOf(b) / 127) * (0.5 + 127 * F16_REL) + 1e-7,
    'q8_0',
  );
});

test('Q4_0 / Q5_0: error ≤ |d|/2, except the far end of the range which clips by ≤ |d|', () => {
  const x = randomData(N, 3);
  // d = max/-nmax maps max to level -nmax exactly; -max would need level +nmax, one past the top (nmax-1).
  checkBlocks(x, roundTrip(GgmlType.Q4_0, x), (b) => (amaxOf(b) / 8) * (1 + 8 * F16_REL) + 1e-7, 'q4_0');
  checkBlocks(x, roundTrip(GgmlType.Q5_0, x), (b) => (amaxOf(b) / 16) * (1 + 16 * F16_REL) + 1e-7, 'q5_0');
});

test('Q4_1 / Q5_1: error ≤ d/2 with d = (max - min)/qmax, plus f16 rounding of d and m', () => {
  const x = randomData(N, 4);
  for (const [type, qmax] of [
    [GgmlType.Q4_1, 15],
    [GgmlType.Q5_1, 31],
  ] as const) {
    const bound = (b: Float32Array) => {
      const d = (maxOf(b) - minOf(b)) / qmax;
      return d / 2 + qmax * d * F16_REL + Math.abs(minOf(b)) * F16_REL + 1e-7;
    };
    checkBlocks(x, roundTrip(type, x), bound, GgmlType[type]);
  }
});

test('K-quants: relative RMSE and max error on random data', () => {
  const x = randomData(N, 5);
  // Limits sit a little above what these formats reach on such data (Q4_K ≈ 0.07, Q5_K ≈ 0.035, Q6_K ≈ 0.018).
  for (const [type, rmse, maxRel] of [
    [GgmlType.Q4_K, 0.09, 0.1],
    [GgmlType.Q5_K, 0.045, 0.05],
    [GgmlType.Q6_K, 0.025, 0.03],
  ] as const) {
    const y = roundTrip(type, x);
    const e = relRmse(x, y);
    assert.ok(e < rmse, `${GgmlType[type]} relative rmse ${e}`);
    // Max error relative to each 256-block's range.
    for (let o = 0; o < N; o += 256) {
      const b = x.subarray(o, o + 256);
      const range = maxOf(b) - minOf(b);
      for (let j = 0; j < 256; j++) {
        const err = Math.abs(x[o + j] - y[o + j]);
        if (err > maxRel * range)
          assert.fail(`${GgmlType[type]}: element ${o + j} error ${err}, range ${range}`);
      }
    }
  }
});

test('K-quants and legacy quants handle zero, constant and one-sided blocks', () => {
  const types = [
    GgmlType.Q8_0,
    GgmlType.Q4_0,
    GgmlType.Q4_1,
    GgmlType.Q5_0,
    GgmlType.Q5_1,
    GgmlType.Q4_K,
    GgmlType.Q5_K,
    GgmlType.Q6_K,
  ];
  const zeros = new Float32Array(256);
  const pos = new Float32Array(256).fill(3);
  const neg = new Float32Array(256).fill(-3);
  const ramp = Float32Array.from({ length: 256 }, (_, i) => -i / 64); // all ≤ 0
  for (const t of types) {
    // Q4_0/Q5_0 give -0 here (d = 0 / -nmax is -0, as in ggml), hence === rather than deepEqual.
    assert.ok(
      roundTrip(t, zeros).every((v) => v === 0),
      `${GgmlType[t]} zeros`,
    );
    for (const [name, x, tol] of [
      ['+3', pos, 0.05],
      ['-3', neg, 0.05],
      ['ramp', ramp, 0.25],
    ] as const) {
      const y = roundTrip(t, x);
      for (let i = 0; i < 256; i++) {
        if (!(Math.abs(y[i] - x[i]) <= tol)) assert.fail(`${GgmlType[t]} ${name}[${i}]: ${y[i]} vs ${x[i]}`);
      }
    }
  }
});

test('exactly representable blocks quantize to the bytes worked out by hand', () => {
  // Q8_0: x[j] = (j - 16)·0.5 except x[31] = 63.5, so amax = 63.5, d = 63.5/127 = 0.5 (f16 0x3800), q = 2x.
  const x8 = Float32Array.from({ length: 32 }, (_, j) => (j === 31 ? 63.5 : (j - 16) * 0.5));
  const q8 = quantize(GgmlType.Q8_0, x8);
  assert.deepEqual([...q8.subarray(0, 2)], [0x00, 0x38]);
  assert.deepEqual([...q8.subarray(2)], [...Array.from({ length: 31 }, (_, j) => (j - 16) & 0xff), 127]);
  // Q4_0: x[j] = ((j % 16) - 8)·0.25; the largest magnitude is -2 (first at j = 0), so d = -2/-8 = 0.25
  // (f16 0x3400), 1/d = 4 and q = trunc(4x + 8.5) = j % 16; byte j holds q[j] | q[j+16] << 4 = j·0x11.
  const x4 = Float32Array.from({ length: 32 }, (_, j) => ((j % 16) - 8) * 0.25);
  const q4 = quantize(GgmlType.Q4_0, x4);
  assert.deepEqual([...q4], [0x00, 0x34, ...Array.from({ length: 16 }, (_, j) => j * 0x11)]);
  // Q4_1: x[j] = j·0.5 - 1: min -1 (f16 0xBC00), max 14.5, d = 15.5/15 is not exact, so use x[j] = (j % 16)·0.5 - 1
  // instead: max 6.5, d = 7.5/15 = 0.5 (0x3800), q = (x + 1)·2 = j % 16.
  const x41 = Float32Array.from({ length: 32 }, (_, j) => (j % 16) * 0.5 - 1);
  const q41 = quantize(GgmlType.Q4_1, x41);
  assert.deepEqual([...q41], [0x00, 0x38, 0x00, 0xbc, ...Array.from({ length: 16 }, (_, j) => j * 0x11)]);
  assert.deepEqual(dequantize(GgmlType.Q4_1, q41, 32), x41);
});

test('quantize rejects partial blocks and unsupported types', () => {
  assert.throws(() => quantize(GgmlType.Q4_K, new Float32Array(32)), /not a whole number of Q4_K blocks/);
  assert.throws(() => quantize(GgmlType.Q3_K, new Float32Array(256)), /Q3_K is not supported/);
});
