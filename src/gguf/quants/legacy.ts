// The 32-element block formats (ggml-common.h) and their reference quantizers (ggml-quants.c,
// quantize_row_*_ref). Every block starts with the f16 scale d (little-endian):
//   Q4_0 (18 B): d, qs[16]             x[j] = ((qs[j] & 15) - 8)·d,  x[j+16] = ((qs[j] >> 4) - 8)·d
//   Q4_1 (20 B): d, m, qs[16]          x[j] = (qs[j] & 15)·d + m,     x[j+16] = (qs[j] >> 4)·d + m
//   Q5_0 (22 B): d, qh(u32), qs[16]    as Q4_0 with bit 4 of element i taken from qh bit i, minus 16
//   Q5_1 (24 B): d, m, qh(u32), qs[16] as Q4_1 with that fifth bit
//   Q8_0 (34 B): d, qs[32] (int8)      x[j] = qs[j]·d
// The quantizers round through f32 (Math.fround) at the same steps as the C code, so they reproduce
// llama.cpp's reference blocks.
import { F16_TABLE, f32ToF16 } from './float.js';

const QK = 32;
const fr = Math.fround;

function f16At(src: Uint8Array, o: number): number {
  return F16_TABLE[src[o] | (src[o + 1] << 8)];
}

function putF16(dst: Uint8Array, o: number, v: number): void {
  const h = f32ToF16(v);
  dst[o] = h & 0xff;
  dst[o + 1] = h >> 8;
}

/** C's (int) cast of a float: truncation toward zero. */
const trunc = Math.trunc;

/** C's roundf: halves go away from zero. */
function roundf(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function dequantQ4_0(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 18, y += QK) {
    const d = f16At(src, s);
    for (let j = 0; j < 16; j++) {
      const q = src[s + 2 + j];
      dst[y + j] = ((q & 15) - 8) * d;
      dst[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

export function dequantQ4_1(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 20, y += QK) {
    const d = f16At(src, s);
    const m = f16At(src, s + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[s + 4 + j];
      dst[y + j] = (q & 15) * d + m;
      dst[y + j + 16] = (q >> 4) * d + m;
    }
  }
}

export function dequantQ5_0(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 22, y += QK) {
    const d = f16At(src, s);
    const qh = (src[s + 2] | (src[s + 3] << 8) | (src[s + 4] << 16) | (src[s + 5] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[s + 6 + j];
      dst[y + j] = (((q & 15) | (((qh >>> j) & 1) << 4)) - 16) * d;
      dst[y + j + 16] = (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  }
}

export function dequantQ5_1(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 24, y += QK) {
    const d = f16At(src, s);
    const m = f16At(src, s + 2);
    const qh = (src[s + 4] | (src[s + 5] << 8) | (src[s + 6] << 16) | (src[s + 7] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[s + 8 + j];
      dst[y + j] = ((q & 15) | (((qh >>> j) & 1) << 4)) * d + m;
      dst[y + j + 16] = ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d + m;
    }
  }
}

export function dequantQ8_0(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 34, y += QK) {
    const d = f16At(src, s);
    for (let j = 0; j < QK; j++) dst[y + j] = ((src[s + 2 + j] << 24) >> 24) * d;
  }
}

/** The block's element of largest magnitude, with its sign (first one wins ties, as in ggml). */
function signedAbsMax(x: Float32Array, o: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = x[o + j];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function minMax(x: Float32Array, o: number): [number, number] {
  let min = Number.MAX_VALUE;
  let max = -Number.MAX_VALUE;
  for (let j = 0; j < QK; j++) {
    const v = x[o + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Symmetric 4/5-bit blocks (Q4_0: nmax 8, Q5_0: nmax 16): d = max / -nmax, q = trunc(x/d + nmax + 0.5). */
function quantSymmetric(x: Float32Array, out: Uint8Array, nb: number, bits: 4 | 5): void {
  const nmax = bits === 4 ? 8 : 16;
  const qmax = 2 * nmax - 1;
  const bytes = bits === 4 ? 18 : 22;
  const qs = bits === 4 ? 2 : 6;
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * bytes;
    const d = fr(signedAbsMax(x, xo) / -nmax);
    const id = d ? fr(1 / d) : 0;
    putF16(out, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(qmax, trunc(fr(fr(x[xo + j] * id) + nmax + 0.5)));
      const q1 = Math.min(qmax, trunc(fr(fr(x[xo + j + 16] * id) + nmax + 0.5)));
      out[o + qs + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    if (bits === 5) writeU32(out, o + 2, qh);
  }
}

/** Asymmetric 4/5-bit blocks (Q4_1, Q5_1): d = (max - min) / qmax, m = min, q = trunc((x - min)/d + 0.5). */
function quantAffine(x: Float32Array, out: Uint8Array, nb: number, bits: 4 | 5): void {
  const qmax = (1 << bits) - 1;
  const bytes = bits === 4 ? 20 : 24;
  const qs = bits === 4 ? 4 : 8;
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * bytes;
    const [min, max] = minMax(x, xo);
    const d = fr((max - min) / qmax);
    const id = d ? fr(1 / d) : 0;
    putF16(out, o, d);
    putF16(out, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // ggml clamps only Q4_1; the clamp is a no-op for Q5_1 on finite input and keeps qh well-formed.
      const q0 = Math.min(qmax, trunc(fr(fr(fr(x[xo + j] - min) * id) + 0.5)));
      const q1 = Math.min(qmax, trunc(fr(fr(fr(x[xo + j + 16] - min) * id) + 0.5)));
      out[o + qs + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    if (bits === 5) writeU32(out, o + 4, qh);
  }
}

function writeU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
  out[o + 2] = (v >>> 16) & 0xff;
  out[o + 3] = v >>> 24;
}

export function quantQ4_0(x: Float32Array, out: Uint8Array, nb: number): void {
  quantSymmetric(x, out, nb, 4);
}
export function quantQ5_0(x: Float32Array, out: Uint8Array, nb: number): void {
  quantSymmetric(x, out, nb, 5);
}
export function quantQ4_1(x: Float32Array, out: Uint8Array, nb: number): void {
  quantAffine(x, out, nb, 4);
}
export function quantQ5_1(x: Float32Array, out: Uint8Array, nb: number): void {
  quantAffine(x, out, nb, 5);
}

/** Q8_0: d = amax/127, q = roundf(x/d). */
export function quantQ8_0(x: Float32Array, out: Uint8Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * 34;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[xo + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    putF16(out, o, d);
    for (let j = 0; j < QK; j++) out[o + 2 + j] = roundf(fr(x[xo + j] * id)) & 0xff;
  }
}
