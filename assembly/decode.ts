// Weight rows in GGUF block formats → the decoded layouts the matmul kernels share, so that one decode is
// reused across every token of a prefill tile. Block layouts follow ggml-common.h.
// FAM_G32 / FAM_S32 (32-value blocks, read against ACT32 activations):
//   vals u8[cols] (0..31; Q8_0: |w| then u8[cols] sign masks)  at 0, V = cols (Q8_0: 2·cols) bytes
//   sv   v128[nb]  the block's scale, splatted                 at V
//   m    f32[nb]   added per unit of Σx over the block         at V + 16·nb
// so that row·x = Σ_b sv_b·dx_b·(vals_b·q_b) + Σ_b m_b·sx_b.
// FAM_K (K-quants, read against ACT256 activations; groups of 32, Q6_K 16):
//   vals u8[cols] (0..63)                                       at 0
//   gsc  v128[groups]  the group's integer scale as i16 splat   at cols
//   mco  i16[16] per super-block: coefficient of each Σq per 16 at cols + 16·groups
//   dab  f32[2] per super-block: scale of Σ gsc·(vals·q), of Σ mco·Σq   then
// so that a super-block contributes dx·(dab0·Σ_g gsc_g·(vals_g·q_g) + dab1·Σ_k mco_k·bsum_k).
import { BIT4, DOT_ADD, f16, fifthBits, halvesUp, hi4, lo4, weightHalves } from './simd';
import { BF16, F16, F32, Q4_0, Q4_1, Q4_K, Q5_0, Q5_1, Q5_K, Q6_K, Q8_0 } from './types';


// @ts-ignore: decorator
@inline function putGroup(dst: usize, base: i32, groups: i32, g: i32, scale: f32, min: f32): void {
  v128.store(dst + <usize>(base + 16 * g), f32x4.splat(scale));
  store<f32>(dst + <usize>(base + 16 * groups + 4 * g), min);
}

/** Stores a FAM_K group scale. */
// @ts-ignore: decorator
@inline function putKScale(dst: usize, cols: i32, g: i32, scale: i32): void {
  v128.store(dst + <usize>(cols + 16 * g), i16x8.splat(<i16>scale));
}

/** Stores a FAM_K super-block's two float scales (dab); `mco` is written by the caller. */
// @ts-ignore: decorator
@inline function putKFloats(dst: usize, cols: i32, groups: i32, nsb: i32, s: i32, a: f32, b: f32): void {
  const at = dst + <usize>(cols + 16 * groups + 32 * nsb + 8 * s);
  store<f32>(at, a);
  store<f32>(at, b, 4);
}

/** Q4_K/Q5_K 6-bit scale and min of sub-block j (get_scale_min_k4). */
// @ts-ignore: decorator
@inline function kScale(s: usize, j: i32): u32 {
  const js = <usize>j;
  if (j < 4) return load<u8>(s + js) & 63;
  return (load<u8>(s + js + 4) & 0xf) | ((load<u8>(s + js - 4) >> 6) << 4);
}
// @ts-ignore: decorator
@inline function kMin(s: usize, j: i32): u32 {
  const js = <usize>j;
  if (j < 4) return load<u8>(s + js + 4) & 63;
  return (load<u8>(s + js + 4) >> 4) | ((load<u8>(s + js) >> 6) << 4);
}

function decodeQ4_0(src: usize, cols: i32, dst: usize, off: f32, hasMin: bool, high: bool): void {
  // Q4_0 (off 8), Q4_1 (min), Q5_0 (off 16, high bits), Q5_1 (min, high bits): one 32-block per group.
  const nb = cols >> 5;
  const bytes = <usize>(18 + (hasMin ? 2 : 0) + (high ? 4 : 0));
  const qsAt = <usize>(2 + (hasMin ? 2 : 0) + (high ? 4 : 0));
  for (let b = 0; b < nb; b++) {
    const blk = src + <usize>b * bytes;
    const d = f16(load<u16>(blk));
    const q = v128.load(blk + qsAt);
    let v0 = lo4(q);
    let v1 = hi4(q);
    if (high) {
      const qh = load<u32>(blk + (hasMin ? 4 : 2));
      v0 = v128.or(v0, fifthBits(qh, false));
      v1 = v128.or(v1, fifthBits(qh, true));
    }
    v128.store(dst + <usize>(b * 32), v0);
    v128.store(dst + <usize>(b * 32), v1, 16);
    putGroup(dst, cols, nb, b, d, hasMin ? f16(load<u16>(blk, 2)) : -off * d);
  }
}

/**
 * Q8_0 rows: |w| and sign masks (the i7 operand must be 0..127); in the DOT_ADD build, whose dot-add takes
 * the activations + 128 as unsigned bytes (simd.ts dot32offset), w itself and -128·Σw per dot lane in
 * the first half of the sign-mask space.
 */
function decodeQ8_0(src: usize, cols: i32, dst: usize): void {
  const nb = cols >> 5;
  for (let b = 0; b < nb; b++) {
    const blk = src + <usize>(b * 34);
    const w0 = v128.load(blk, 2);
    const w1 = v128.load(blk, 18);
    const o = dst + <usize>(b * 32);
    if (DOT_ADD) {
      v128.store(o, w0);
      v128.store(o, w1, 16);
      const pairs = i16x8.add(i16x8.extadd_pairwise_i8x16_s(w0), i16x8.extadd_pairwise_i8x16_s(w1));
      v128.store(o + <usize>cols, i32x4.shl(i32x4.neg(i32x4.extadd_pairwise_i16x8_s(pairs)), 7));
    } else {
      v128.store(o, i8x16.abs(w0));
      v128.store(o, i8x16.abs(w1), 16);
      v128.store(o + <usize>cols, i8x16.lt_s(w0, i8x16.splat(0)));
      v128.store(o + <usize>cols, i8x16.lt_s(w1, i8x16.splat(0)), 16);
    }
    putGroup(dst, 2 * cols, nb, b, f16(load<u16>(blk)), 0);
  }
}

function decodeQ45K(src: usize, cols: i32, dst: usize, five: bool): void {
  const nsb = cols >> 8;
  const groups = cols >> 5;
  const mco = dst + <usize>(cols + 16 * groups);
  const bytes = <usize>(five ? 176 : 144);
  for (let s = 0; s < nsb; s++) {
    const blk = src + <usize>s * bytes;
    const d = f16(load<u16>(blk));
    const dmin = f16(load<u16>(blk, 2));
    const sc = blk + 4;
    const qh0 = five ? v128.load(blk, 16) : i8x16.splat(0);
    const qh1 = five ? v128.load(blk, 32) : i8x16.splat(0);
    const qs = blk + (five ? 48 : 16);
    const out = dst + <usize>(s * 256);
    for (let c = 0; c < 4; c++) {
      const q0 = v128.load(qs + <usize>(c * 32));
      const q1 = v128.load(qs + <usize>(c * 32), 16);
      let a0 = lo4(q0);
      let a1 = lo4(q1);
      let b0 = hi4(q0);
      let b1 = hi4(q1);
      if (five) {
        // Sub-block 2c takes bit 2c of qh[l], sub-block 2c+1 bit 2c+1.
        const bit: i32 = 1 << (2 * c);
        const ma = i8x16.splat(<i8>bit);
        const mb = i8x16.splat(<i8>(bit << 1));
        a0 = v128.or(a0, v128.and(i8x16.eq(v128.and(qh0, ma), ma), BIT4));
        a1 = v128.or(a1, v128.and(i8x16.eq(v128.and(qh1, ma), ma), BIT4));
        b0 = v128.or(b0, v128.and(i8x16.eq(v128.and(qh0, mb), mb), BIT4));
        b1 = v128.or(b1, v128.and(i8x16.eq(v128.and(qh1, mb), mb), BIT4));
      }
      const o = out + <usize>(c * 64);
      v128.store(o, a0);
      v128.store(o, a1, 16);
      v128.store(o, b0, 32);
      v128.store(o, b1, 48);
    }
    for (let j = 0; j < 8; j++) {
      putKScale(dst, cols, s * 8 + j, <i32>kScale(sc, j));
      // Each min covers two of the activation's per-16 sums.
      const m = <u32>kMin(sc, j) * 0x10001;
      store<u32>(mco + <usize>(s * 32 + j * 4), m);
    }
    putKFloats(dst, cols, groups, nsb, s, d, -dmin);
  }
}

function decodeQ6K(src: usize, cols: i32, dst: usize): void {
  const nsb = cols >> 8;
  const groups = cols >> 4;
  const mask = i8x16.splat(0x30);
  for (let s = 0; s < nsb; s++) {
    const blk = src + <usize>(s * 210);
    const d = f16(load<u16>(blk, 208));
    for (let n = 0; n < 2; n++) {
      const ql = blk + <usize>(n * 64);
      const qh = blk + 128 + <usize>(n * 32);
      const out = dst + <usize>(s * 256 + n * 128);
      for (let h = 0; h < 2; h++) {
        const l = <usize>(h * 16);
        const a = v128.load(ql + l);
        const b = v128.load(ql + l, 32);
        const hb = v128.load(qh + l);
        // Element l: low nibble of ql[l] | bits 0-1 of qh[l]; l+32: ql[l+32] | bits 2-3;
        // l+64: high nibble of ql[l] | bits 4-5; l+96: high nibble of ql[l+32] | bits 6-7.
        v128.store(out + l, v128.or(lo4(a), v128.and(i16x8.shl(hb, 4), mask)));
        v128.store(out + l, v128.or(lo4(b), v128.and(i16x8.shl(hb, 2), mask)), 32);
        v128.store(out + l, v128.or(hi4(a), v128.and(hb, mask)), 64);
        v128.store(out + l, v128.or(hi4(b), v128.and(i16x8.shr_u(hb, 2), mask)), 96);
      }
    }
    // Values are stored +32: the offset is −32·d·Σ_k scale_k·Σq_k.
    for (let k = 0; k < 16; k++) {
      const sc = <i32>load<i8>(blk + 192 + <usize>k);
      putKScale(dst, cols, s * 16 + k, sc);
      store<i16>(dst + <usize>(cols + 16 * groups + s * 32 + k * 2), <i16>sc);
    }
    putKFloats(dst, cols, groups, nsb, s, d, -32 * d);
  }
}

function decodeF16(src: usize, cols: i32, dst: usize, brain: bool): void {
  let c = 0;
  for (; c + 8 <= cols; c += 8) {
    const h = v128.load(src + <usize>(c * 2));
    const lo = halvesUp(h, false);
    const hi = halvesUp(h, true);
    v128.store(dst + <usize>(c * 4), brain ? lo : weightHalves(lo));
    v128.store(dst + <usize>(c * 4), brain ? hi : weightHalves(hi), 16);
  }
  for (; c < cols; c++) {
    const h = <u32>load<u16>(src + <usize>(c * 2));
    store<f32>(dst + <usize>(c * 4), brain ? reinterpret<f32>(h << 16) : f16(h));
  }
}

/** Decodes one stored row of `type` into `dst` (decodedStride bytes). */
export function decodeRow(type: i32, src: usize, cols: i32, dst: usize): void {
  if (type == Q4_0) decodeQ4_0(src, cols, dst, 8, false, false);
  else if (type == Q4_1) decodeQ4_0(src, cols, dst, 0, true, false);
  else if (type == Q5_0) decodeQ4_0(src, cols, dst, 16, false, true);
  else if (type == Q5_1) decodeQ4_0(src, cols, dst, 0, true, true);
  else if (type == Q8_0) decodeQ8_0(src, cols, dst);
  else if (type == Q4_K) decodeQ45K(src, cols, dst, false);
  else if (type == Q5_K) decodeQ45K(src, cols, dst, true);
  else if (type == Q6_K) decodeQ6K(src, cols, dst);
  else if (type == F16) decodeF16(src, cols, dst, false);
  else if (type == BF16) decodeF16(src, cols, dst, true);
  else if (type == F32) memory.copy(dst, src, <usize>cols * 4);
}
