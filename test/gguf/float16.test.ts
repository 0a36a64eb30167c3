// f16/bf16 conversions against known bit patterns (IEEE 754 binary16 and bfloat16).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/gguf/quants.js';

test('f32ToF16 on known values, rounding to nearest even', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65519, 0x7bff], // below the midpoint to the next (non-existent) step
    [65520, 0x7c00], // the midpoint 65504 + 16 rounds to even, i.e. up to inf
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0.1, 0x2e66],
    [2 ** -14, 0x0400], // smallest normal
    [6.1e-5, 0x03ff], // 6.1e-5 / 2^-24 = 1023.4 → subnormal 1023
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
    [1.5 * 2 ** -25, 0x0001],
    [1.5 * 2 ** -24, 0x0002], // tie between 1 and 2 subnormal steps: even is 2
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie between mantissas 1 and 2: even is 2
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [2 ** -14 - 2 ** -25, 0x0400], // rounding carries from the largest subnormal into the smallest normal
  ];
  for (const [f, h] of cases) assert.equal(f32ToF16(f), h, `f32ToF16(${f})`);
  assert.equal(f32ToF16(Number.NaN), 0x7e00);
});

test('f16ToF32 on known bit patterns', () => {
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0xc000), -2);
  assert.equal(f16ToF32(0x7bff), 65504);
  assert.equal(f16ToF32(0x0400), 2 ** -14);
  assert.equal(f16ToF32(0x03ff), 1023 * 2 ** -24);
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0x2e66), 0.0999755859375); // (1 + 0x266/1024) · 2^-4
  assert.equal(f16ToF32(0x7c00), Infinity);
  assert.equal(f16ToF32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  assert.ok(Number.isNaN(f16ToF32(0x7c01)));
  assert.ok(Object.is(f16ToF32(0x8000), -0));
});

test('every non-NaN half survives f16 → f32 → f16', () => {
  for (let h = 0; h < 65536; h++) {
    const f = f16ToF32(h);
    if (Number.isNaN(f)) continue;
    if (f32ToF16(f) !== h) assert.fail(`half 0x${h.toString(16)} came back as 0x${f32ToF16(f).toString(16)}`);
  }
});

test('bf16 conversions', () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(-2), 0xc000);
  assert.equal(f32ToBf16(0.1), 0x3dcd); // f32 0x3DCCCCCD: low half 0xCCCD > 0x8000 rounds up
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // f32 0x3F808000: tie, even mantissa stays
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // f32 0x3F818000: tie, rounds up to even
  assert.equal(f32ToBf16(Infinity), 0x7f80);
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.equal(f32ToBf16(3.4028234663852886e38), 0x7f80); // f32 max 0x7F7FFFFF rounds up to inf, as in ggml
  assert.equal(f32ToBf16(Number.NaN), 0x7fc0); // quiet NaN
  assert.equal(f32ToBf16(-0), 0x8000);
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc000), -2);
  assert.equal(bf16ToF32(0x3dcd), 0.10009765625);
  assert.equal(bf16ToF32(0x7f80), Infinity);
  assert.ok(Number.isNaN(bf16ToF32(0x7fc0)));
  assert.ok(Object.is(bf16ToF32(0x8000), -0));
});
