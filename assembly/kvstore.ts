// Writing new keys and values into the cache's storage type: the rows the projections produce (f32, several
// heads per token row) become f32, f16, q8_0 or q4_0 rows, byte for byte what src/gguf/quants.ts writes
// (ggml's fp32_to_fp16 and quantize_row_q8_0_ref / q4_0_ref). Per appended token this is a few hundred
// values, but at 30 layers × 2 tensors it cost 10% of a 512-token prefill when done in TypeScript.
import { F16, F32, Q4_0, Q8_0 } from './types';

const SIGN = i32x4.splat(0x80000000);
/** 2^16 as f32 bits: from here on a half overflows to infinity. */
const F16_MAX = i32x4.splat((127 + 16) << 23);
const F32_INF = i32x4.splat(255 << 23);
/** 2^-14 as f32 bits: below it a half is subnormal. */
const F16_MIN_NORMAL = i32x4.splat(113 << 23);
/** Adding 0.5 as f32 (exponent 126 + 10 bits) shifts a subnormal half's bits into the low mantissa, rounded. */
const DENORM_MAGIC = i32x4.splat(((127 - 15) + (23 - 10) + 1) << 23);

/**
 * Four f32 to four halves (in the low 16 bits of each lane), rounding to nearest even; overflow gives ±inf,
 * NaN sign | 0x7e00, as ggml (F. Giesen's float_to_half_fast3_rtne, branch-free).
 */
// @ts-ignore: decorator
@inline function halves(x: v128): v128 {
  const sign = v128.and(x, SIGN);
  const f = v128.xor(x, sign);
  const special = v128.bitselect(i32x4.splat(0x7e00), i32x4.splat(0x7c00), i32x4.gt_s(f, F32_INF));
  const sub = i32x4.sub(f32x4.add(f, DENORM_MAGIC), DENORM_MAGIC);
  // Normal: rebias the exponent, add 0xfff plus the kept mantissa's lowest bit (ties to even), shift down.
  const odd = v128.and(i32x4.shr_u(f, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(f, i32x4.splat(((15 - 127) << 23) + 0xfff)), odd), 13);
  const finite = v128.bitselect(sub, normal, i32x4.lt_s(f, F16_MIN_NORMAL));
  return v128.or(v128.bitselect(special, finite, i32x4.ge_s(f, F16_MAX)), i32x4.shr_u(sign, 16));
}

/** One f32 to half bits (the scales of q8_0 / q4_0 blocks). */
// @ts-ignore: decorator
@inline function half(x: f32): u16 {
  return <u16>i32x4.extract_lane(halves(f32x4.splat(x)), 0);
}

/**
 * roundf: to nearest, halves away from zero (Mathf.round takes halves up). ±∞ and NaN (a subnormal block
 * scale overflows 1/d) give 0, as the TypeScript encoder's `& 0xff` and x86's conversion do.
 */
// @ts-ignore: decorator
@inline function roundAway(x: f32): i32 {
  if (!isFinite<f32>(x)) return 0;
  return <i32>(x < 0 ? -Mathf.round(-x) : Mathf.round(x));
}

function f16Row(src: usize, d: i32, dst: usize): void {
  let c = 0;
  for (; c + 8 <= d; c += 8) {
    const a = halves(v128.load(src + <usize>(c * 4)));
    const b = halves(v128.load(src + <usize>(c * 4), 16));
    v128.store(dst + <usize>(c * 2), i8x16.shuffle(a, b, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29));
  }
  for (; c < d; c++) store<u16>(dst + <usize>(c * 2), half(load<f32>(src + <usize>(c * 4))));
}

/** quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d), 34 bytes per 32 values. */
function q8Row(src: usize, d: i32, dst: usize): void {
  for (let b = 0; b < d; b += 32) {
    const x = src + <usize>(b * 4);
    const o = dst + <usize>((b >> 5) * 34);
    let amax: f32 = 0;
    for (let j = 0; j < 32; j++) amax = max(amax, abs(load<f32>(x + <usize>(j * 4))));
    const s: f32 = amax / 127;
    const id: f32 = s != 0 ? 1 / s : 0;
    store<u16>(o, half(s));
    for (let j = 0; j < 32; j++) store<i8>(o + <usize>(2 + j), <i8>roundAway(load<f32>(x + <usize>(j * 4)) * id));
  }
}

/** quantize_row_q4_0_ref: d = (the value of largest |x|) / -8, q = min(15, trunc(x / d + 8.5)), 18 bytes per 32. */
function q4Row(src: usize, d: i32, dst: usize): void {
  for (let b = 0; b < d; b += 32) {
    const x = src + <usize>(b * 4);
    const o = dst + <usize>((b >> 5) * 18);
    let amax: f32 = 0;
    let mx: f32 = 0;
    for (let j = 0; j < 32; j++) {
      const v = load<f32>(x + <usize>(j * 4));
      if (amax < abs(v)) {
        amax = abs(v);
        mx = v;
      }
    }
    const s: f32 = mx / -8;
    const id: f32 = s != 0 ? 1 / s : 0;
    store<u16>(o, half(s));
    for (let j = 0; j < 16; j++) {
      const q0 = min(15, <i32>(load<f32>(x + <usize>(j * 4)) * id + 8.5));
      const q1 = min(15, <i32>(load<f32>(x + <usize>((j + 16) * 4)) * id + 8.5));
      store<u8>(o + <usize>(2 + j), <u8>((q0 & 15) | ((q1 & 15) << 4)));
    }
  }
}

/**
 * `n` rows of `d` f32 values (row t at src + t·srcStride bytes) to `n` consecutive stored rows of `type` at
 * dst. d is a multiple of 32 for q8_0 and q4_0 (the cache checks this when it is created).
 */
export function encodeKvRows(type: i32, src: usize, srcStride: i32, n: i32, d: i32, dst: usize): void {
  const rb = <usize>(type == F16 ? d * 2 : type == Q8_0 ? (d >> 5) * 34 : type == Q4_0 ? (d >> 5) * 18 : d * 4);
  for (let t = 0; t < n; t++) {
    const s = src + <usize>t * <usize>srcStride;
    const o = dst + <usize>t * rb;
    if (type == F16) f16Row(s, d, o);
    else if (type == Q8_0) q8Row(s, d, o);
    else if (type == Q4_0) q4Row(s, d, o);
    else if (type == F32) memory.copy(o, s, <usize>d * 4);
  }
}
