// Single-token matmul (decode) straight from the stored rows: each weight block is unpacked in registers
// and multiplied against the int8 activations, no decoded copy. K-quants use ACT256 activations so that a
// whole super-block sums in integers (the sub-block scales ride along in the i16→i32 multiply-add);
// legacy types use ACT32 and convert each 32-block's sum once, with their f16 scales converted 4 at a time.
import { ACT32, ACT32U, ACT256 } from './quant';
import { BIT4, DOT_ADD, bcast16, dot32s, dot32signed, dot32u, fifthBits, f16, f16x4, halvesUp, hi4, hsum, lo4, madd, pairs16, weightHalves } from './simd';
import { BF16, F16, Q4_0, Q4_1, Q4_K, Q5_0, Q5_1, Q5_K, Q6_K, Q8_0 } from './types';

/** Activation kind the single-token kernel of `type` reads; -1 if it has none. */
export function gemvKind(type: i32): i32 {
  if (type == Q4_K || type == Q5_K || type == Q6_K) return ACT256;
  if (type == Q8_0 && DOT_ADD) return ACT32U;
  if (type == Q4_0 || type == Q4_1 || type == Q5_0 || type == Q5_1 || type == Q8_0) return ACT32;
  return -1;
}

// ---- K-quants -------------------------------------------------------------------------------------------

/**
 * One 64-value chunk of a Q4_K/Q5_K super-block: Σ scale_j · (q · x) for its two sub-blocks. `sc` has the
 * chunk's two scales in i16 lanes 0 and 1; `ma`/`mb` select the chunk's two qh bits (Q5_K).
 */
// @ts-ignore: decorator
@inline function kChunk(qs: usize, x: usize, qh0: v128, qh1: v128, ma: v128, mb: v128, five: bool, sc: v128, acc: v128): v128 {
  const q0 = v128.load(qs);
  const q1 = v128.load(qs, 16);
  let a0 = lo4(q0);
  let a1 = lo4(q1);
  let b0 = hi4(q0);
  let b1 = hi4(q1);
  if (five) {
    a0 = v128.or(a0, v128.and(i8x16.eq(v128.and(qh0, ma), ma), BIT4));
    a1 = v128.or(a1, v128.and(i8x16.eq(v128.and(qh1, ma), ma), BIT4));
    b0 = v128.or(b0, v128.and(i8x16.eq(v128.and(qh0, mb), mb), BIT4));
    b1 = v128.or(b1, v128.and(i8x16.eq(v128.and(qh1, mb), mb), BIT4));
  }
  // Lanes stay below 2^15: 2 pairs · 2 · 127 · 31.
  const pa = i16x8.add(pairs16(v128.load(x), a0), pairs16(v128.load(x, 16), a1));
  const pb = i16x8.add(pairs16(v128.load(x, 32), b0), pairs16(v128.load(x, 48), b1));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(pa, bcast16(sc, 0)));
  return i32x4.add(acc, i32x4.dot_i16x8_s(pb, bcast16(sc, 1)));
}

// @ts-ignore: decorator
@inline function rowQ45K(w: usize, cols: i32, a: usize, five: bool): f32 {
  const nsb = cols >> 8;
  const bytes = <usize>(five ? 176 : 144);
  const dA = a + <usize>cols;
  const bsA = dA + <usize>(4 * nsb);
  let acc = f32x4.splat(0);
  let accMin = f32x4.splat(0);
  for (let s = 0; s < nsb; s++) {
    const blk = w + <usize>s * bytes;
    // The 12 scale bytes hold eight 6-bit scales and eight 6-bit mins (get_scale_min_k4), unpacked
    // four at a time in 32-bit words.
    const u0 = load<u32>(blk, 4);
    const u1 = load<u32>(blk, 8);
    const u2 = load<u32>(blk, 12);
    let packed = i32x4.splat(u0 & 0x3f3f3f3f);
    packed = i32x4.replace_lane(packed, 1, (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4));
    packed = i32x4.replace_lane(packed, 2, u1 & 0x3f3f3f3f);
    packed = i32x4.replace_lane(packed, 3, ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4));
    const sc = i16x8.extend_low_i8x16_u(packed);
    const mn = i16x8.extend_high_i8x16_u(packed);
    const qh0 = five ? v128.load(blk, 16) : sc;
    const qh1 = five ? v128.load(blk, 32) : sc;
    // A loop over the four chunks, not an unrolled body (TurboFan would hoist and spill its loads): the
    // scales shift down two lanes per chunk and the qh bit masks up two bits (bytes stay below 256).
    let qs = blk + (five ? 48 : 16);
    let x = a + <usize>(s * 256);
    let scs = sc;
    let ma = i8x16.splat(1);
    let mb = i8x16.splat(2);
    let isum = i32x4.splat(0);
    for (let c = 0; c < 4; c++) {
      isum = kChunk(qs, x, qh0, qh1, ma, mb, five, scs, isum);
      scs = i32x4.shuffle(scs, scs, 1, 2, 3, 0);
      if (five) {
        ma = i16x8.shl(ma, 2);
        mb = i16x8.shl(mb, 2);
      }
      qs += 32;
      x += 64;
    }
    // Σ_j min_j · Σq over sub-block j, from the per-16 sums: each min covers two of them.
    const bs = bsA + <usize>(s * 32);
    const m0 = i8x16.swizzle(mn, i8x16(0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7));
    const m1 = i8x16.swizzle(mn, i8x16(8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15));
    const imin = i32x4.add(i32x4.dot_i16x8_s(v128.load(bs), m0), i32x4.dot_i16x8_s(v128.load(bs, 16), m1));
    const dx = load<f32>(dA + <usize>(s * 4));
    acc = madd(f32x4.convert_i32x4_s(isum), f32x4.splat(f16(load<u16>(blk)) * dx), acc);
    accMin = madd(f32x4.convert_i32x4_s(imin), f32x4.splat(f16(load<u16>(blk, 2)) * dx), accMin);
  }
  return hsum(f32x4.sub(acc, accMin));
}

/**
 * Slice h (16 values) of half n of a Q6_K super-block: values at n·128 + {0, 32, 64, 96} + 16h + l are a
 * ql nibble with two qh bits, each group of 16 with its own scale (groups n·8 + {0, 2, 4, 6} + h).
 */
// @ts-ignore: decorator
@inline function q6Slice(blk: usize, n: i32, h: i32, x: usize, sc: v128, acc: v128): v128 {
  const m2 = i8x16.splat(0x30);
  const ql = blk + <usize>(n * 64 + h * 16);
  const A = v128.load(ql);
  const B = v128.load(ql, 32);
  const H = v128.load(blk + <usize>(128 + n * 32 + h * 16));
  const xh = x + <usize>(n * 128 + h * 16);
  const v0 = v128.or(lo4(A), v128.and(i16x8.shl(H, 4), m2));
  const v1 = v128.or(lo4(B), v128.and(i16x8.shl(H, 2), m2));
  const v2 = v128.or(hi4(A), v128.and(H, m2));
  const v3 = v128.or(hi4(B), v128.and(i16x8.shr_u(H, 2), m2));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(pairs16(v128.load(xh), v0), bcast16(sc, h)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(pairs16(v128.load(xh, 32), v1), bcast16(sc, 2 + h)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(pairs16(v128.load(xh, 64), v2), bcast16(sc, 4 + h)));
  return i32x4.add(acc, i32x4.dot_i16x8_s(pairs16(v128.load(xh, 96), v3), bcast16(sc, 6 + h)));
}

function rowQ6K(w: usize, cols: i32, a: usize): f32 {
  const nsb = cols >> 8;
  const dA = a + <usize>cols;
  const bsA = dA + <usize>(4 * nsb);
  let acc = f32x4.splat(0);
  for (let s = 0; s < nsb; s++) {
    const blk = w + <usize>(s * 210);
    const scv = v128.load(blk, 192);
    const sc0 = i16x8.extend_low_i8x16_s(scv);
    const sc1 = i16x8.extend_high_i8x16_s(scv);
    const x = a + <usize>(s * 256);
    // A loop rather than unrolled code: TurboFan hoists every load of an unrolled super-block to the
    // top and spills most of them.
    let isum = i32x4.splat(0);
    for (let i = 0; i < 4; i++) isum = q6Slice(blk, i >> 1, i & 1, x, i < 2 ? sc0 : sc1, isum);
    // Values are stored +32: subtract 32 · Σ_g scale_g · Σq_g.
    const bs = bsA + <usize>(s * 32);
    const off = i32x4.add(i32x4.dot_i16x8_s(v128.load(bs), sc0), i32x4.dot_i16x8_s(v128.load(bs, 16), sc1));
    isum = i32x4.sub(isum, i32x4.shl(off, 5));
    const d = f16(load<u16>(blk, 208)) * load<f32>(dA + <usize>(s * 4));
    acc = madd(f32x4.convert_i32x4_s(isum), f32x4.splat(d), acc);
  }
  return hsum(acc);
}

// ---- 32-value block types ---------------------------------------------------------------------------------

/** Integer dot of block `blk` against 32 activations at `x`, as four i32 partial sums. */
// @ts-ignore: decorator
@inline function legacyDot(type: i32, blk: usize, x: usize): v128 {
  // Activations stored + 128 (ACT32U) in the dot-add build, multiplied as unsigned bytes by vpdpbusd
  // (probeDotAdd checks it): four dot-adds where moving each weight's sign onto the activation took ten.
  if (DOT_ADD && type == Q8_0) return dot32signed(v128.load(blk, 2), v128.load(x), v128.load(blk, 18), v128.load(x, 16));
  if (type == Q8_0) {
    const w0 = v128.load(blk, 2);
    const w1 = v128.load(blk, 18);
    const z = i8x16.splat(0);
    return dot32s(v128.load(x), i8x16.abs(w0), i8x16.lt_s(w0, z), v128.load(x, 16), i8x16.abs(w1), i8x16.lt_s(w1, z));
  }
  const hasMin = type == Q4_1 || type == Q5_1;
  const high = type == Q5_0 || type == Q5_1;
  const q = v128.load(blk + (hasMin ? 4 : 2) + (high ? 4 : 0));
  let v0 = lo4(q);
  let v1 = hi4(q);
  if (high) {
    const qh = load<u32>(blk + (hasMin ? 4 : 2));
    v0 = v128.or(v0, fifthBits(qh, false));
    v1 = v128.or(v1, fifthBits(qh, true));
  }
  // Values 0..31 (exact for dot32u's i16 pair sums, and 7-bit for any lowering of the fused dot-add).
  return dot32u(v128.load(x), v0, v128.load(x, 16), v1);
}

// @ts-ignore: decorator
@inline function legacyBytes(type: i32): usize {
  if (type == Q4_0) return 18;
  if (type == Q4_1) return 20;
  if (type == Q5_0) return 22;
  if (type == Q5_1) return 24;
  return 34;
}

/** The stored offset of unsigned types: value = d·(q − off). Q8_0 is signed, Q4_1/Q5_1 have a min. */
// @ts-ignore: decorator
@inline function legacyOffset(type: i32): f32 {
  if (type == Q4_0) return 8;
  if (type == Q5_0) return 16;
  return 0;
}

/** Four consecutive blocks' f16 fields at byte `at` of each, as f32x4. */
// @ts-ignore: decorator
@inline function halves4(blk: usize, bytes: usize, at: usize): v128 {
  let h = v128.load16_lane(blk + at, i32x4.splat(0), 0);
  h = v128.load16_lane(blk + bytes + at, h, 2);
  h = v128.load16_lane(blk + 2 * bytes + at, h, 4);
  h = v128.load16_lane(blk + 3 * bytes + at, h, 6);
  return f16x4(h);
}

// @ts-ignore: decorator
@inline function rowLegacy(type: i32, w: usize, cols: i32, a: usize): f32 {
  const nb = cols >> 5;
  const bytes = legacyBytes(type);
  const hasMin = type == Q4_1 || type == Q5_1;
  const off = legacyOffset(type);
  const sx = a + <usize>(cols + 16 * nb);
  const dx = sx + <usize>(12 * nb);
  let acc = f32x4.splat(0);
  let acc2 = acc;
  let accMin = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const blk = w + <usize>b * bytes;
    const x = a + <usize>(b * 32);
    const d4 = halves4(blk, bytes, 0);
    // A loop, not four unrolled blocks: TurboFan would hoist all their loads and spill most of them.
    // The scales rotate so that the current block's is always lane 0.
    // Two blocks a step into two accumulators: one chain of dependent multiply-adds held it to a block per
    // FMA latency.
    let s4 = f32x4.mul(d4, v128.load(dx + <usize>(b * 4)));
    let bp = blk;
    let xp = x;
    for (let k = 0; k < 4; k += 2) {
      acc = madd(f32x4.convert_i32x4_s(legacyDot(type, bp, xp)), i32x4.shuffle(s4, s4, 0, 0, 0, 0), acc);
      acc2 = madd(f32x4.convert_i32x4_s(legacyDot(type, bp + bytes, xp + 32)), i32x4.shuffle(s4, s4, 1, 1, 1, 1), acc2);
      s4 = i32x4.shuffle(s4, s4, 2, 3, 0, 1);
      bp += 2 * bytes;
      xp += 64;
    }
    // Offsets and mins act on Σx per block: m·Σx, or −off·d·Σx.
    if (hasMin) accMin = madd(halves4(blk, bytes, 2), v128.load(sx + <usize>(b * 4)), accMin);
    else if (off != 0) accMin = madd(d4, v128.load(sx + <usize>(b * 4)), accMin);
  }
  let tail: f32 = 0;
  for (; b < nb; b++) {
    const blk = w + <usize>b * bytes;
    const d = f16(load<u16>(blk));
    const isum = hsum(f32x4.convert_i32x4_s(legacyDot(type, blk, a + <usize>(b * 32))));
    const sxb = load<f32>(sx + <usize>(b * 4));
    tail += isum * d * load<f32>(dx + <usize>(b * 4));
    if (hasMin) tail += f16(load<u16>(blk, 2)) * sxb;
    else tail -= off * d * sxb;
  }
  const mins = hsum(accMin);
  return hsum(f32x4.add(acc, acc2)) + tail + (hasMin ? mins : -off * mins);
}

// The instantiations: one specialised loop per type.
function rowQ4_0(w: usize, cols: i32, a: usize): f32 {
  return rowLegacy(Q4_0, w, cols, a);
}
function rowQ4_1(w: usize, cols: i32, a: usize): f32 {
  return rowLegacy(Q4_1, w, cols, a);
}
function rowQ5_0(w: usize, cols: i32, a: usize): f32 {
  return rowLegacy(Q5_0, w, cols, a);
}
function rowQ5_1(w: usize, cols: i32, a: usize): f32 {
  return rowLegacy(Q5_1, w, cols, a);
}
function rowQ8_0(w: usize, cols: i32, a: usize): f32 {
  return rowLegacy(Q8_0, w, cols, a);
}
function rowQ4K(w: usize, cols: i32, a: usize): f32 {
  return rowQ45K(w, cols, a, false);
}
function rowQ5K(w: usize, cols: i32, a: usize): f32 {
  return rowQ45K(w, cols, a, true);
}

/** An F16 (or BF16) row against f32 activations, 16 values per step into four accumulators. */
// @ts-ignore: decorator
@inline function rowHalf(brain: bool, w: usize, cols: i32, x: usize): f32 {
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let c2 = c0;
  let c3 = c0;
  let c = 0;
  for (; c + 16 <= cols; c += 16) {
    const h0 = v128.load(w + <usize>(c * 2));
    const h1 = v128.load(w + <usize>(c * 2), 16);
    const xc = x + <usize>(c * 4);
    const a0 = halvesUp(h0, false);
    const a1 = halvesUp(h0, true);
    const a2 = halvesUp(h1, false);
    const a3 = halvesUp(h1, true);
    c0 = madd(brain ? a0 : weightHalves(a0), v128.load(xc), c0);
    c1 = madd(brain ? a1 : weightHalves(a1), v128.load(xc, 16), c1);
    c2 = madd(brain ? a2 : weightHalves(a2), v128.load(xc, 32), c2);
    c3 = madd(brain ? a3 : weightHalves(a3), v128.load(xc, 48), c3);
  }
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; c < cols; c++) {
    const h = <u32>load<u16>(w + <usize>(c * 2));
    s += (brain ? reinterpret<f32>(h << 16) : f16(h)) * load<f32>(x + <usize>(c * 4));
  }
  return s;
}

function rowF16(w: usize, cols: i32, x: usize): f32 {
  return rowHalf(false, w, cols, x);
}
function rowBF16(w: usize, cols: i32, x: usize): f32 {
  return rowHalf(true, w, cols, x);
}

/** Single-token F16/BF16 rows [r0, r1) straight from storage; x is f32. */
export function halfRows(type: i32, w: usize, rowBytes: i32, cols: i32, x: usize, out: usize, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const row = w + <usize>r * <usize>rowBytes;
    store<f32>(out + <usize>(r * 4), type == BF16 ? rowBF16(row, cols, x) : rowF16(row, cols, x));
  }
}

/** out[r] = row r · x for rows [r0, r1), x quantized as gemvKind(type). */
export function gemvRows(type: i32, w: usize, rowBytes: i32, cols: i32, act: usize, out: usize, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const row = w + <usize>r * <usize>rowBytes;
    let y: f32;
    if (type == Q4_K) y = rowQ4K(row, cols, act);
    else if (type == Q6_K) y = rowQ6K(row, cols, act);
    else if (type == Q5_K) y = rowQ5K(row, cols, act);
    else if (type == Q4_0) y = rowQ4_0(row, cols, act);
    else if (type == Q8_0) y = rowQ8_0(row, cols, act);
    else if (type == Q5_0) y = rowQ5_0(row, cols, act);
    else if (type == Q4_1) y = rowQ4_1(row, cols, act);
    else y = rowQ5_1(row, cols, act);
    store<f32>(out + <usize>(r * 4), y);
  }
}
