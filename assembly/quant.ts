// Activation quantization: each token's f32 row becomes int8 blocks of 32 with one f32 scale per block,
// the layout every integer matmul kernel reads. Per token (stride `actStride(cols)` bytes):
//   qs   i8[cols]          at 0
//   dxv  v128[cols/32]     at cols          the block scale splatted, so kernels load it without a splat
//   sx32 f32[cols/32]      at cols + 16·nb  scale · Σq per 32 (Σx as the kernels see it, for offsets/mins)
//   sx16 f32[cols/16]      at cols + 20·nb  the same per 16 (Q6_K's sub-blocks)

/** Bytes per quantized token row; a multiple of 64 so every row starts cache-line aligned. */
export function actStride(cols: i32): i32 {
  const nb = cols >> 5;
  return (cols + 28 * nb + 63) & ~63;
}

// @ts-ignore: decorator
@inline function sum4(v: v128): i32 {
  const s = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

/** Quantizes tokens [t0, t1) of x f32 `[nTokens][cols]` (cols a multiple of 32) into `act`. */
export function quantizeRows(x: usize, cols: i32, act: usize, t0: i32, t1: i32): void {
  const nb = cols >> 5;
  const stride = <usize>actStride(cols);
  const sign = i32x4.splat(0x7fffffff);
  for (let t = t0; t < t1; t++) {
    const src = x + <usize>t * <usize>cols * 4;
    const dst = act + <usize>t * stride;
    const dxv = dst + <usize>cols;
    const sx32 = dxv + <usize>(16 * nb);
    const sx16 = sx32 + <usize>(4 * nb);
    for (let b = 0; b < nb; b++) {
      const p = src + <usize>(b * 128);
      const v0 = v128.load(p, 0);
      const v1 = v128.load(p, 16);
      const v2 = v128.load(p, 32);
      const v3 = v128.load(p, 48);
      const v4 = v128.load(p, 64);
      const v5 = v128.load(p, 80);
      const v6 = v128.load(p, 96);
      const v7 = v128.load(p, 112);
      let m = f32x4.max(v128.and(v0, sign), v128.and(v1, sign));
      m = f32x4.max(m, f32x4.max(v128.and(v2, sign), v128.and(v3, sign)));
      m = f32x4.max(m, f32x4.max(v128.and(v4, sign), v128.and(v5, sign)));
      m = f32x4.max(m, f32x4.max(v128.and(v6, sign), v128.and(v7, sign)));
      m = f32x4.max(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
      const amax = max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
      const d: f32 = amax / 127;
      const id = f32x4.splat(d > 0 ? 1 / d : 0);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, id)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, id)));
      const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, id)));
      const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, id)));
      const q4 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v4, id)));
      const q5 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v5, id)));
      const q6 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v6, id)));
      const q7 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v7, id)));
      const lo = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
      const hi = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q4, q5), i16x8.narrow_i32x4_s(q6, q7));
      v128.store(dst + <usize>(b * 32), lo, 0);
      v128.store(dst + <usize>(b * 32), hi, 16);
      v128.store(dxv + <usize>(b * 16), f32x4.splat(d));
      const s0 = <f32>sum4(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3))) * d;
      const s1 = <f32>sum4(i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7))) * d;
      store<f32>(sx16 + <usize>(b * 8), s0);
      store<f32>(sx16 + <usize>(b * 8), s1, 4);
      store<f32>(sx32 + <usize>(b * 4), s0 + s1);
    }
  }
}
