// Activation quantization: each token's f32 row becomes int8 values with f32 scales, in one of two layouts.
//
// ACT32 (one scale per 32 values; legacy weight types, and the decoded-row prefill kernels):
//   qs   i8[cols]          at 0
//   dxv  v128[nb]          at cols          the block scale splatted, so kernels load it without a splat
//   sx32 f32[nb]           at cols + 16·nb  scale · Σq per 32 (Σx as the kernels see it, for offsets/mins)
//   sx16 f32[2·nb]         at cols + 20·nb  the same per 16 (Q6_K's sub-blocks)
//   dx32 f32[nb]           at cols + 28·nb  the block scales, contiguous
// ACT256 (one scale per 256 values, like llama.cpp's Q8_K; the single-token K-quant kernels, which then
// sum a whole super-block in integers):
//   qs   i8[cols]          at 0
//   d    f32[nsb]          at cols
//   bsum i16[cols/16]      at cols + 4·nsb  Σq per 16
// ACT32U: ACT32 with every qs byte stored as q + 128 (q ^ 0x80, 1..255): the DOT_ADD build's Q8_0 prefill,
// whose fused dot-add multiplies its second operand as unsigned bytes (simd.ts dot32offset).
// nb = cols/32, nsb = cols/256. Values lie in -127..127.

export const ACT32: i32 = 0;
export const ACT256: i32 = 1;
export const ACT32U: i32 = 2;

/** Bytes per quantized token row; a multiple of 64 so every row starts cache-line aligned. */
export function actStride(kind: i32, cols: i32): i32 {
  const bytes = kind == ACT256 ? cols + 4 * (cols >> 8) + 2 * (cols >> 4) : cols + 32 * (cols >> 5);
  return (bytes + 63) & ~63;
}

// @ts-ignore: decorator
@inline function sum4(v: v128): i32 {
  const s = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

const ABS = i32x4.splat(0x7fffffff);

/** max |x| over n floats (n a multiple of 16). */
function absMax(p: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  for (let i = 0; i < n; i += 16) {
    const o = p + <usize>(i * 4);
    const a = f32x4.max(v128.and(v128.load(o), ABS), v128.and(v128.load(o, 16), ABS));
    const b = f32x4.max(v128.and(v128.load(o, 32), ABS), v128.and(v128.load(o, 48), ABS));
    m = f32x4.max(m, f32x4.max(a, b));
  }
  m = f32x4.max(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  return max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

/** Rounds 16 floats at `p` times `id` to int8 at `dst`; returns their sum. */
// @ts-ignore: decorator
@inline function round16(p: usize, id: v128, dst: usize): i32 {
  const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), id)));
  const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
  const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 32), id)));
  const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 48), id)));
  v128.store(dst, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  return sum4(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
}

function quantize32(src: usize, cols: i32, dst: usize): void {
  const nb = cols >> 5;
  const dxv = dst + <usize>cols;
  const sx32 = dxv + <usize>(16 * nb);
  const sx16 = sx32 + <usize>(4 * nb);
  const dx32 = sx16 + <usize>(8 * nb);
  for (let b = 0; b < nb; b++) {
    const p = src + <usize>(b * 128);
    const d: f32 = absMax(p, 32) / 127;
    const id = f32x4.splat(d > 0 ? 1 / d : 0);
    const s0 = <f32>round16(p, id, dst + <usize>(b * 32)) * d;
    const s1 = <f32>round16(p + 64, id, dst + <usize>(b * 32 + 16)) * d;
    v128.store(dxv + <usize>(b * 16), f32x4.splat(d));
    store<f32>(sx16 + <usize>(b * 8), s0);
    store<f32>(sx16 + <usize>(b * 8), s1, 4);
    store<f32>(sx32 + <usize>(b * 4), s0 + s1);
    store<f32>(dx32 + <usize>(b * 4), d);
  }
}

function quantize256(src: usize, cols: i32, dst: usize): void {
  const nsb = cols >> 8;
  const dp = dst + <usize>cols;
  const bsum = dp + <usize>(4 * nsb);
  for (let s = 0; s < nsb; s++) {
    const p = src + <usize>(s * 1024);
    const d: f32 = absMax(p, 256) / 127;
    const id = f32x4.splat(d > 0 ? 1 / d : 0);
    for (let g = 0; g < 16; g++) {
      const sum = round16(p + <usize>(g * 64), id, dst + <usize>(s * 256 + g * 16));
      store<i16>(bsum + <usize>((s * 16 + g) * 2), <i16>sum);
    }
    store<f32>(dp + <usize>(s * 4), d);
  }
}

/** Quantizes tokens [t0, t1) of x f32 `[nTokens][cols]` into `act` (layout `kind`, rows actStride apart). */
export function quantizeRows(kind: i32, x: usize, cols: i32, act: usize, t0: i32, t1: i32): void {
  const stride = <usize>actStride(kind, cols);
  for (let t = t0; t < t1; t++) {
    const src = x + <usize>t * <usize>cols * 4;
    const dst = act + <usize>t * stride;
    if (kind == ACT256) quantize256(src, cols, dst);
    else quantize32(src, cols, dst);
    if (kind == ACT32U) {
      const top = i8x16.splat(-128);
      for (let c = 0; c < cols; c += 16) v128.store(dst + <usize>c, v128.xor(v128.load(dst + <usize>c), top));
    }
  }
}
