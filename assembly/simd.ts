// Small SIMD helpers shared by the kernels. The relaxed build (ASC_FEATURE_RELAXED_SIMD) uses the
// i8×i7 dot product and fused multiply-add; the portable build spells the same math with SIMD128 only.

const LOW4 = i8x16.splat(0x0f);
/** Bit 4 of every byte: the fifth bit of Q5 values. */
export const BIT4 = i8x16.splat(0x10);

/**
 * Q5 fifth bits: entry b (8 bytes) has 0x10 in byte k where bit k of b is set. It lives just past the
 * module's static data, inside the heap's reserved low region, and is filled when each instance starts.
 * It is deliberately not a data segment: instantiating a worker would re-apply the segment (zeros) under
 * running kernels, whereas this rewrites identical bytes.
 */
const QH_TABLE: usize = (__heap_base + 7) & ~7;
for (let b = 0; b < 256; b++) {
  let v: u64 = 0;
  for (let k = 0; k < 8; k++) if ((b >> k) & 1) v |= (<u64>0x10) << (<u64>(8 * k));
  store<u64>(QH_TABLE + <usize>(b * 8), v);
}

/** Bit k of the 32-bit `qh` as 0x10 in byte k: elements 0-15 (`high` false) or 16-31. */
// @ts-ignore: decorator
@inline export function fifthBits(qh: u32, high: bool): v128 {
  const b0 = high ? (qh >> 16) & 0xff : qh & 0xff;
  const b1 = high ? qh >> 24 : (qh >> 8) & 0xff;
  const lo = v128.load64_zero(QH_TABLE + <usize>(b0 << 3));
  return i64x2.replace_lane(lo, 1, load<u64>(QH_TABLE + <usize>(b1 << 3)));
}

/** Low nibbles of 16 bytes. */
// @ts-ignore: decorator
@inline export function lo4(q: v128): v128 {
  return v128.and(q, LOW4);
}

/** High nibbles of 16 bytes (the i16 shift cannot leak across bytes once masked). */
// @ts-ignore: decorator
@inline export function hi4(q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), LOW4);
}

/**
 * Set in the build made with `--use KVSIEVE_DOT_ADD=1` (kernels-relaxed-dot.wasm): i8×i7 dot products through
 * i32x4.relaxed_dot_i8x16_i7x16_add_s, one instruction (vpdpbusd) where the CPU has AVX-VNNI. V8 11.3
 * (Node 20) computes it wrongly, so the backend only loads this build after probeDotAdd checks it.
 */
// @ts-ignore: a compile-time constant
export const DOT_ADD: bool = isDefined(KVSIEVE_DOT_ADD);

/**
 * The fused dot-add on fixed bytes, for the runtime check (meaningful in the DOT_ADD build). The second
 * operand's bytes include 128..255, which the DOT_ADD build's Q8_0 matmul feeds it (activations + 128) and
 * which AVX-VNNI's vpdpbusd multiplies as unsigned; a lowering through pmaddubsw (no VNNI) saturates the
 * pair sums there (2·128·255 > 2^15), and one through a signed dot reads them as negative: either fails.
 */
export function probeDotAdd(): i32 {
  if (!DOT_ADD) return 0;
  const x = i8x16(-127, 126, -5, 100, 77, -128 + 1, 3, 0, -64, 64, 127, -1, 12, -90, 45, 8);
  const w = i8x16(127, 126, 1, 0, 99, 64, 33, 5, 7, 120, 127, 2, 50, 17, 88, 101);
  const r = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, i32x4(1, 2, 3, 4));
  const xs = i8x16(-128, -128, 127, 127, 127, 127, -1, 2, -100, 50, -7, 0, 127, -128, 127, -128);
  const ws = i8x16(-1, -1, -1, -1, -128, -127, -2, 0x7f, -56, -1, 1, -1, -1, -1, -1, -1);
  const u = i32x4.relaxed_dot_i8x16_i7x16_add_s(xs, ws, i32x4(-5, 6, -7, 8));
  return laneMix(r) + 11 * laneMix(u);
}

/** Lanes weighted 1, 3, 5, 7 and summed: one number that changes if any lane does. */
function laneMix(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + 3 * i32x4.extract_lane(v, 1) + 5 * i32x4.extract_lane(v, 2) + 7 * i32x4.extract_lane(v, 3);
}

/**
 * Σ w·x per lane for 32 signed weights against 32 activations stored as x + 128 (x0u, x1u), without a
 * precomputed Σw: Σ w·(x + 128) − Σ w·128, four fused dot-adds (the DOT_ADD build's Q8_0 single-token rows).
 * Not dot32offset started from −128·Σw: that chains all four dot-adds, where here two pairs run side by side.
 */
// @ts-ignore: decorator
@inline export function dot32signed(w0: v128, x0u: v128, w1: v128, x1u: v128): v128 {
  if (DOT_ADD) {
    const z = i32x4.splat(0);
    const u = i8x16.splat(-128);
    const wx = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, x1u, i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, x0u, z));
    return i32x4.sub(wx, i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, u, i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, u, z)));
  }
  return unreachable();
}

/**
 * Σ w·x per lane for 32 signed weights (w0, w1) against 32 activations stored as x + 128 (x0u, x1u:
 * 1..255), starting from `corr` = -128·Σw per lane, so that the result is Σ w·x. The DOT_ADD build's Q8_0
 * matmul: two fused dot-adds per 32 values, no sign juggling (probeDotAdd checks the unsigned bytes).
 */
// @ts-ignore: decorator
@inline export function dot32offset(w0: v128, x0u: v128, w1: v128, x1u: v128, corr: v128): v128 {
  if (DOT_ADD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, x1u, i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, x0u, corr));
  return unreachable();
}

/** a·b + c per lane (f32x4); fused where relaxed SIMD is available. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Dot product of 32 signed activation bytes (x0, x1; -127..127) with 32 weight bytes in 0..63 (w0, w1), as
 * four i32 partial sums. The relaxed build uses the i8×i7 → i16 pair dot (exact: 2·127·63·2 < 2^15, so the
 * two halves add in i16) and widens once. It avoids i32x4.relaxed_dot_i8x16_i7x16_add_s, which V8 11.3
 * (Node 20) computes as twice the dot product.
 */
// @ts-ignore: decorator
@inline export function dot32u(x0: v128, w0: v128, x1: v128, w1: v128): v128 {
  if (DOT_ADD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w1, i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w0, i32x4.splat(0)));
  if (ASC_FEATURE_RELAXED_SIMD) {
    const pairs = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, w0), i16x8.relaxed_dot_i8x16_i7x16_s(x1, w1));
    return i32x4.extadd_pairwise_i16x8_s(pairs);
  }
  return i32x4.add(dot16(x0, w0), dot16(x1, w1));
}

/** Exact signed×signed dot product of 16 bytes through i16 lanes (portable). */
// @ts-ignore: decorator
@inline function dot16(x: v128, w: v128): v128 {
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), i16x8.extend_low_i8x16_s(w));
  return i32x4.add(lo, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), i16x8.extend_high_i8x16_s(w)));
}

/**
 * Signed dot product of 16 activation bytes with 16 weights given as |w| (0..127) and a sign mask
 * (0xff where w < 0): the sign moves onto the activation so that the 7-bit operand is |w|.
 */
// @ts-ignore: decorator
@inline export function dot16s(x: v128, wabs: v128, wneg: v128): v128 {
  const xs = i8x16.sub(v128.xor(x, wneg), wneg);
  if (DOT_ADD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(xs, wabs, i32x4.splat(0));
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(xs, wabs));
  return dot16(xs, wabs);
}

/** dot16s over 32 bytes (two halves), as four i32 partial sums; one chained dot-add in the DOT_ADD build. */
// @ts-ignore: decorator
@inline export function dot32s(x0: v128, w0: v128, e0: v128, x1: v128, w1: v128, e1: v128): v128 {
  if (DOT_ADD) {
    const s0 = i8x16.sub(v128.xor(x0, e0), e0);
    const s1 = i8x16.sub(v128.xor(x1, e1), e1);
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(s1, w1, i32x4.relaxed_dot_i8x16_i7x16_add_s(s0, w0, i32x4.splat(0)));
  }
  return i32x4.add(dot16s(x0, w0, e0), dot16s(x1, w1, e1));
}

const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
/** 1.5·2^23: t + ROUNDER rounds t to an integer held in the low mantissa bits (|t| < 2^22). */
const ROUNDER: f32 = 12582912;

/**
 * e^x for x in [-87, 88] (callers clamp or mask outside): 2^n · 2^f with n = round(x·log2 e) and a degree-6
 * Taylor polynomial for 2^f on |f| ≤ 1/2 (relative error ~1e-7); 2^n is built from its exponent bits.
 * n comes from adding 1.5·2^23, which rounds to nearest-even as f32x4.nearest does and leaves n in the low
 * mantissa bits: shifting (bits + 127) left by 23 drops the magic's own bits. That is two instructions
 * where nearest + trunc_sat take six (V8 guards trunc_sat against NaN and overflow).
 */
// @ts-ignore: decorator
@inline export function expInRange(x: v128): v128 {
  const t = f32x4.mul(x, f32x4.splat(LOG2E));
  const r = f32x4.add(t, f32x4.splat(ROUNDER));
  const f = f32x4.mul(f32x4.sub(t, f32x4.sub(r, f32x4.splat(ROUNDER))), f32x4.splat(LN2));
  let p = madd(f, f32x4.splat(1.0 / 720), f32x4.splat(1.0 / 120));
  p = madd(f, p, f32x4.splat(1.0 / 24));
  p = madd(f, p, f32x4.splat(1.0 / 6));
  p = madd(f, p, f32x4.splat(0.5));
  p = madd(f, p, f32x4.splat(1));
  p = madd(f, p, f32x4.splat(1));
  return f32x4.mul(p, i32x4.shl(i32x4.add(r, i32x4.splat(127)), 23));
}

/** Sum of the four f32 lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

// Half → single without touching subnormal floats: an f32 multiply with a subnormal operand takes a
// microcode assist (~100 cycles), and small f16 scales (Q6_K's d is often below 2^-14) are subnormal.
// Normal halves rebias the exponent in integers; subnormal ones are an exact integer times 2^-24.
const HALF_REBIAS: u32 = (127 - 15) << 23;
const TWO_M24: f32 = 5.9604644775390625e-8;

/** IEEE half to single, exact for normals, subnormals, infinities and NaNs. */
// @ts-ignore: decorator
@inline export function f16(h: u32): f32 {
  // Branch-free (selects): scales of both kinds alternate unpredictably along a row.
  const em = h & 0x7fff;
  const tiny = reinterpret<u32>(<f32>em * TWO_M24);
  const big = select<u32>(0x7f800000 | ((em & 0x3ff) << 13), (em << 13) + HALF_REBIAS, em >= 0x7c00);
  return reinterpret<f32>(select<u32>(tiny, big, em < 0x400) | ((h & 0x8000) << 16));
}

/** Four halves (u16 values in u32 lanes) to four singles; weights hold no infinities or NaNs. */
// @ts-ignore: decorator
@inline export function f16x4(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff));
  const normal = i32x4.add(i32x4.shl(em, 13), i32x4.splat(HALF_REBIAS));
  const tiny = f32x4.mul(f32x4.convert_i32x4_s(em), f32x4.splat(TWO_M24));
  const mag = v128.bitselect(tiny, normal, i32x4.lt_s(em, i32x4.splat(0x400)));
  return v128.or(mag, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** Halves 0-3 (`high` false) or 4-7 of an i16x8, each moved to the top 16 bits of an i32 lane. */
// @ts-ignore: decorator
@inline export function halvesUp(h: v128, high: bool): v128 {
  const z = i32x4.splat(0);
  return high ? i16x8.shuffle(z, h, 0, 12, 0, 13, 0, 14, 0, 15) : i16x8.shuffle(z, h, 0, 8, 0, 9, 0, 10, 0, 11);
}

/**
 * Four halves in the top bits of i32 lanes (halvesUp) to singles, for weights: move exponent and mantissa
 * into place with one arithmetic shift (clearing the sign copies) and rebias with a multiply by 2^112.
 * Exact for normals and subnormals (the latter take the slow subnormal multiply, rare in weights);
 * infinities and NaNs come out finite.
 */
// @ts-ignore: decorator
@inline export function weightHalves(v: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(v, 3), i32x4.splat(0x8fffffff)), f32x4.splat(reinterpret<f32>(0x77800000)));
}

/**
 * Products of 16 signed activation bytes with 16 weight bytes in 0..127, summed in pairs into i16 lanes
 * (which pairs is the build's choice; callers only ever sum all lanes). Exact: 2·127·127 < 2^15.
 */
// @ts-ignore: decorator
@inline export function pairs16(x: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(x, w);
  return i16x8.add(i16x8.extmul_low_i8x16_s(x, w), i16x8.extmul_high_i8x16_s(x, w));
}

/** Lane j of an i16x8, broadcast (j is a constant once inlined). */
// @ts-ignore: decorator
@inline export function bcast16(v: v128, j: i32): v128 {
  return i8x16.swizzle(v, i16x8.splat(<i16>(0x0100 + 0x0202 * j)));
}

