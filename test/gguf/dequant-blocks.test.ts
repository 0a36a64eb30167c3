// Dequantization of hand-built blocks. Every block is written byte by byte from the layouts in ggml-common.h
// and every expected value is worked out in the comments from the format's formula, not from the code under test.
// f16 scales used: 0x3C00 = 1, 0x3800 = 0.5, 0x3400 = 0.25, 0x4000 = 2, 0xBC00 = -1, 0xC400 = -4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dequantize, dequantizeRow } from '../../src/gguf/quants.js';
import { GgmlType } from '../../src/gguf/types.js';

/** Little-endian bytes of a 16-bit value. */
const le16 = (h: number) => [h & 0xff, h >> 8];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function assertValues(actual: Float32Array, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}[${i}] = ${actual[i]}, expected ${expected[i]}`);
  }
}

test('F32, F16 and BF16 elements', () => {
  // 1.5 as f32 is 0x3FC00000; as f16 0x3E00; as bf16 0x3FC0. -0.25: f32 0xBE800000, f16 0xB400, bf16 0xBE80.
  assertValues(
    dequantize(GgmlType.F32, Uint8Array.of(0, 0, 0xc0, 0x3f, 0, 0, 0x80, 0xbe), 2),
    [1.5, -0.25],
    'f32',
  );
  assertValues(dequantize(GgmlType.F16, Uint8Array.of(0x00, 0x3e, 0x00, 0xb4), 2), [1.5, -0.25], 'f16');
  assertValues(dequantize(GgmlType.BF16, Uint8Array.of(0xc0, 0x3f, 0x80, 0xbe), 2), [1.5, -0.25], 'bf16');
  // A source that starts at an odd byte offset (tensor rows inside a file buffer need not be aligned).
  const padded = Uint8Array.of(0xff, 0, 0, 0xc0, 0x3f);
  assertValues(dequantize(GgmlType.F32, padded.subarray(1), 1), [1.5], 'unaligned f32');
  const halves = Uint8Array.of(0xff, 0x00, 0x3e, 0x00, 0xb4);
  assertValues(dequantize(GgmlType.F16, halves.subarray(1), 2), [1.5, -0.25], 'unaligned f16');
  assertValues(
    dequantize(GgmlType.BF16, Uint8Array.of(0, 0xc0, 0x3f).subarray(1), 1),
    [1.5],
    'unaligned bf16',
  );
});

test('Q8_0: x = qs[j]·d', () => {
  // d = 0.5; qs[j] = j - 16 as int8, except qs[0] = -128 (0x80) and qs[31] = 127.
  const qs = range(32).map((j) => (j === 0 ? 0x80 : j === 31 ? 127 : (j - 16) & 0xff));
  const block = Uint8Array.from([...le16(0x3800), ...qs]);
  const expected = range(32).map((j) => (j === 0 ? -64 : j === 31 ? 63.5 : (j - 16) * 0.5));
  assertValues(dequantize(GgmlType.Q8_0, block, 32), expected, 'q8_0');
  // Two blocks back to back: the second (d = -1, all qs = 3) gives -3 everywhere.
  const two = Uint8Array.from([...block, ...le16(0xbc00), ...new Array(32).fill(3)]);
  assertValues(dequantize(GgmlType.Q8_0, two, 64), [...expected, ...new Array(32).fill(-3)], 'q8_0 x2');
});

test('Q4_0: x[j] = ((qs[j] & 15) - 8)·d, x[j+16] = ((qs[j] >> 4) - 8)·d', () => {
  // d = 2; qs[j] = j | (15 - j) << 4, so x[j] = (j - 8)·2 and x[j+16] = (15 - j - 8)·2 = (7 - j)·2.
  const block = Uint8Array.from([...le16(0x4000), ...range(16).map((j) => j | ((15 - j) << 4))]);
  const expected = [...range(16).map((j) => (j - 8) * 2), ...range(16).map((j) => (7 - j) * 2)];
  assertValues(dequantize(GgmlType.Q4_0, block, 32), expected, 'q4_0');
  assert.equal(expected[0], -16); // nibble 0 → -8·2
  assert.equal(expected[16], 14); // nibble 15 → 7·2
});

test('Q4_1: x[j] = (qs[j] & 15)·d + m, x[j+16] = (qs[j] >> 4)·d + m', () => {
  // d = 0.25, m = -1; qs[j] = j | (15 - j) << 4.
  const block = Uint8Array.from([
    ...le16(0x3400),
    ...le16(0xbc00),
    ...range(16).map((j) => j | ((15 - j) << 4)),
  ]);
  const expected = [...range(16).map((j) => j * 0.25 - 1), ...range(16).map((j) => (15 - j) * 0.25 - 1)];
  assertValues(dequantize(GgmlType.Q4_1, block, 32), expected, 'q4_1');
  assert.equal(expected[15], 2.75); // 15·0.25 - 1
});

test('Q5_0: the fifth bit of element i is bit i of qh', () => {
  // d = 0.5; qh = 0x80000001 (bytes 01 00 00 80): elements 0 and 31 have the high bit.
  // qs[0] = 0xF3 (low 3, high 15), qs[15] = 0x7F (low 15, high 7), other qs 0.
  //   x0  = ((3 | 16) - 16)·0.5 = 1.5      x15 = ((15 | 0) - 16)·0.5 = -0.5
  //   x16 = ((15 | 0) - 16)·0.5 = -0.5     x31 = ((7 | 16) - 16)·0.5 = 3.5
  //   every other element: (0 - 16)·0.5 = -8
  const qs = new Array(16).fill(0);
  qs[0] = 0xf3;
  qs[15] = 0x7f;
  const block = Uint8Array.from([...le16(0x3800), 0x01, 0x00, 0x00, 0x80, ...qs]);
  const expected = new Array(32).fill(-8);
  expected[0] = 1.5;
  expected[15] = -0.5;
  expected[16] = -0.5;
  expected[31] = 3.5;
  assertValues(dequantize(GgmlType.Q5_0, block, 32), expected, 'q5_0');
});

test('Q5_1: x = (nibble | fifth bit << 4)·d + m', () => {
  // d = 0.5, m = -4; qh = 0x00018000 (bytes 00 80 01 00): elements 15 and 16 have the high bit.
  // qs[0] = 0x21 (low 1, high 2), qs[15] = 0x0E (low 14, high 0), other qs 0.
  //   x0  = 1·0.5 - 4 = -3.5                x15 = (14 | 16)·0.5 - 4 = 30·0.5 - 4 = 11
  //   x16 = (2 | 16)·0.5 - 4 = 18·0.5 - 4 = 5    x31 = 0·0.5 - 4 = -4;  all others -4
  const qs = new Array(16).fill(0);
  qs[0] = 0x21;
  qs[15] = 0x0e;
  const block = Uint8Array.from([...le16(0x3800), ...le16(0xc400), 0x00, 0x80, 0x01, 0x00, ...qs]);
  const expected = new Array(32).fill(-4);
  expected[0] = -3.5;
  expected[15] = 11;
  expected[16] = 5;
  assertValues(dequantize(GgmlType.Q5_1, block, 32), expected, 'q5_1');
});

// Sub-block scales and mins for the K-quant blocks below, and their 12-byte packing (get_scale_min_k4):
//   sc = [1, 2, 3, 4, 33, 47, 63, 17]      m = [0, 5, 10, 63, 16, 40, 2, 31]
//   bytes 0..3  = sc[j] | (sc[j+4] >> 4) << 6:   1|2<<6 = 0x81, 2|2<<6 = 0x82, 3|3<<6 = 0xC3, 4|1<<6 = 0x44
//   bytes 4..7  = m[j]  | (m[j+4] >> 4) << 6:    0|1<<6 = 0x40, 5|2<<6 = 0x85, 10|0 = 0x0A, 63|1<<6 = 0x7F
//   bytes 8..11 = (sc[j+4] & 15) | (m[j+4] & 15) << 4:  1|0 = 0x01, 15|8<<4 = 0x8F, 15|2<<4 = 0x2F, 1|15<<4 = 0xF1
// Decoding j < 4 reads sc = byte[j] & 63, m = byte[j+4] & 63 (e.g. j=1: 0x82 & 63 = 2, 0x85 & 63 = 5);
// j >= 4 reads sc = (byte[j+4] & 15) | (byte[j-4] >> 6) << 4 (j=5: 15 | 2<<4 = 47) and
// m = (byte[j+4] >> 4) | (byte[j] >> 6) << 4 (j=5: 8 | 2<<4 = 40).
const K_SC = [1, 2, 3, 4, 33, 47, 63, 17];
const K_M = [0, 5, 10, 63, 16, 40, 2, 31];
const K_SCALES = [0x81, 0x82, 0xc3, 0x44, 0x40, 0x85, 0x0a, 0x7f, 0x01, 0x8f, 0x2f, 0xf1];
// 4-bit data shared by Q4_K's qs and Q5_K's ql: byte 32c + l = ((l + c) & 15) | ((3l) & 15) << 4, so
// sub-block 2c element l holds (l + c) & 15 and sub-block 2c+1 element l holds 3l & 15.
const K_NIBBLES = range(128).map((i) => {
  const c = i >> 5;
  const l = i & 31;
  return ((l + c) & 15) | (((3 * l) & 15) << 4);
});
const lowOf = (k: number, l: number) => (k % 2 === 0 ? (l + (k >> 1)) & 15 : (3 * l) & 15);

test('Q4_K: x = d·sc_k·q - dmin·m_k with 6-bit packed scales', () => {
  // d = 1, dmin = 0.5.
  const block = Uint8Array.from([...le16(0x3c00), ...le16(0x3800), ...K_SCALES, ...K_NIBBLES]);
  const y = dequantize(GgmlType.Q4_K, block, 256);
  const expected = range(256).map((e) => K_SC[e >> 5] * lowOf(e >> 5, e & 31) - 0.5 * K_M[e >> 5]);
  assertValues(y, expected, 'q4_k');
  assert.equal(y[0], 0); // sub-block 0 (j<4), q = 0: 1·1·0 - 0.5·0
  assert.equal(y[33], 3.5); // sub-block 1 (j<4), l = 1, q = 3: 1·2·3 - 0.5·5
  assert.equal(y[165], 685); // sub-block 5 (j>=4), l = 5, q = 15: 1·47·15 - 0.5·40
  assert.equal(y[195], 377); // sub-block 6 (j>=4), l = 3, q = 3+3: 1·63·6 - 0.5·2
  assert.equal(y[255], 205.5); // sub-block 7 (j>=4), l = 31, q = 93 & 15 = 13: 17·13 - 0.5·31
});

test('Q5_K: bit k of qh[l] is the fifth bit of element l in sub-block k', () => {
  // d = 1, dmin = 0.5, scales and nibbles as Q4_K; qh[l] = 0xAA for even l (odd sub-blocks get +16),
  // 0x55 for odd l (even sub-blocks get +16).
  const qh = range(32).map((l) => (l % 2 === 0 ? 0xaa : 0x55));
  const block = Uint8Array.from([...le16(0x3c00), ...le16(0x3800), ...K_SCALES, ...qh, ...K_NIBBLES]);
  const y = dequantize(GgmlType.Q5_K, block, 256);
  const expected = range(256).map((e) => {
    const k = e >> 5;
    const l = e & 31;
    return K_SC[k] * (lowOf(k, l) + ((qh[l] >> k) & 1) * 16) - 0.5 * K_M[k];
  });
  assertValues(y, expected, 'q5_k');
  assert.equal(y[0], 0); // k=0, l=0: 0xAA bit 0 clear, q = 0
  assert.equal(y[32], 29.5); // k=1, l=0: 0xAA bit 1 set, q = 0 + 16: 2·16 - 2.5
  assert.equal(y[33], 3.5); // k=1, l=1: 0x55 bit 1 clear, q = 3: 2·3 - 2.5
  assert.equal(y[164], 1296); // k=5, l=4: 0xAA bit 5 set, q = 12 + 16: 47·28 - 20
  assert.equal(y[165], 685); // k=5, l=5: 0x55 bit 5 clear, q = 15
  assert.equal(y[254], 426.5); // k=7, l=30: 0xAA bit 7 set, q = 10 + 16: 17·26 - 15.5
  assert.equal(y[255], 205.5); // k=7, l=31: 0x55 bit 7 clear, q = 13
});

test('Q6_K: x = d·scales[e/16]·(q - 32), q = 4 bits from ql | 2 bits from qh', () => {
  // ql[i] = i; qh[i] = 0xE4 (2-bit fields 0, 1, 2, 3 from the bottom); scales[k] = k - 8; d = 0.5 (at byte 208).
  // Element e = 128h + 32g + l takes its low nibble from ql[64h + l + 32(g & 1)] (low for g < 2, high for g >= 2)
  // and its top two bits from field g of qh[32h + l], which is g itself here.
  const block = Uint8Array.from([
    ...range(128),
    ...new Array(64).fill(0xe4),
    ...range(16).map((k) => (k - 8) & 0xff),
    ...le16(0x3800),
  ]);
  const y = dequantize(GgmlType.Q6_K, block, 256);
  const expected = range(256).map((e) => {
    const h = e >> 7;
    const g = (e >> 5) & 3;
    const l = e & 31;
    const byte = 64 * h + l + 32 * (g & 1);
    const q = (g < 2 ? byte & 15 : byte >> 4) | (g << 4);
    return 0.5 * ((e >> 4) - 8) * (q - 32);
  });
  assertValues(y, expected, 'q6_k');
  assert.equal(y[0], 128); // ql[0] = 0, field 0: q = 0 → -32; scale -8: 0.5·-8·-32
  assert.equal(y[37], 33); // g=1, l=5: ql[37] = 0x25 low 5, field 1: q = 21 → -11; scale -6: 0.5·-6·-11
  assert.equal(y[100], -18); // g=3, l=4: ql[36] = 0x24 high 2, field 3: q = 50 → 18; scale -2
  assert.equal(y[200], 8); // h=1, g=2, l=8: ql[72] = 0x48 high 4, field 2: q = 36 → 4; scale 4
  assert.equal(y[255], 80.5); // h=1, g=3, l=31: ql[127] = 0x7F high 7, field 3: q = 55 → 23; scale 7
});

test('dequantizeRow checks sizes and names unsupported types', () => {
  const dst = new Float32Array(64);
  assert.throws(
    () => dequantizeRow(GgmlType.Q8_0, new Uint8Array(34), dst, 16),
    /not a whole number of Q8_0 blocks/,
  );
  assert.throws(() => dequantizeRow(GgmlType.Q8_0, new Uint8Array(34), dst, 64), /need 68 bytes/);
  assert.throws(
    () => dequantizeRow(GgmlType.Q8_0, new Uint8Array(68), new Float32Array(32), 64),
    /destination/,
  );
  assert.throws(() => dequantizeRow(GgmlType.Q2_K, new Uint8Array(84), new Float32Array(256), 256), /Q2_K/);
  assert.throws(() => dequantizeRow(99 as GgmlType, new Uint8Array(4), dst, 1), /unknown\(99\)/);
  // dst longer than n: only dst[0..n) is written.
  const long = new Float32Array(40).fill(7);
  dequantizeRow(GgmlType.Q8_0, Uint8Array.from([...le16(0x3c00), ...new Array(32).fill(1)]), long, 32);
  assert.equal(long[31], 1);
  assert.equal(long[32], 7);
});
