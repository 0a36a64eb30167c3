// Matmul for more than one token (prefill). A chunk of rows is decoded once (decode.ts) into the calling
// thread's scratch and then reused by every token:
//  - unsigned 32-value blocks and K-quants: two tokens per pass over a decoded row, so each weight and
//    scale vector loaded serves both, accumulators in registers (K-quants sum whole super-blocks in
//    integers against ACT256 activations); in the dot-add build, 32-value blocks (Q8_0 included, against
//    activations + 128) take two rows × two tokens per pass;
//  - Q8_0 outside the dot-add build, and an odd last token: the block's weight vectors stay in registers
//    while an inner loop runs over the tokens, whose accumulators live in a small scratch array;
//  - float types: 2 rows × 4 tokens register tiles.
// Loops are kept short and pointer-bumped on purpose: TurboFan hoists every load of an unrolled body to
// the top of the loop and spills most of them, and adds an interrupt check to every iteration.
import { decodeRow } from './decode';
import { gemvKind, gemvRows, halfRows } from './gemv';
import { ACT32, ACT32U, ACT256, actStride } from './quant';
import { DOT_ADD, dot32offset, dot32s, dot32u, hsum, madd, pairs16 } from './simd';
import { BF16, decodedStride, F16, F32, FAM_F, FAM_G32, FAM_K, FAM_NONE, FAM_S32, family, Q6_K, valueBytes } from './types';

/** Tokens per tile: their activations (≈1.9·cols bytes each) stay in L2 while a chunk of rows passes. */
const TOKEN_TILE = 32;

/** Σ_g m_g · sx_g: the offsets and mins of one row against one token's per-group sums. */
// @ts-ignore: decorator
@inline function minTerm(fam: i32, row: usize, cols: i32, a: usize): f32 {
  if (fam == FAM_S32) return 0;
  const groups = cols >> 5;
  const m = row + <usize>(cols + 16 * groups);
  const sx = a + <usize>(cols + 16 * groups);
  let acc = f32x4.splat(0);
  let g = 0;
  for (; g + 4 <= groups; g += 4) acc = madd(v128.load(m + <usize>(g * 4)), v128.load(sx + <usize>(g * 4)), acc);
  let s = hsum(acc);
  for (; g < groups; g++) s += load<f32>(m + <usize>(g * 4)) * load<f32>(sx + <usize>(g * 4));
  return s;
}

/** One token's step for one block: the block's dot product, scaled, added to `c`. */
// @ts-ignore: decorator
@inline function tokenStep(
  fam: i32,
  ap: usize,
  dp: usize,
  c: v128,
  w0: v128,
  w1: v128,
  e0: v128,
  e1: v128,
  s0: v128,
): v128 {
  const x0 = v128.load(ap);
  const x1 = v128.load(ap, 16);
  const dx = v128.load(dp);
  return madd(f32x4.convert_i32x4_s(blockDot(fam, x0, x1, w0, w1, e0, e1)), f32x4.mul(s0, dx), c);
}

/**
 * One block's integer dot product, as four i32 partial sums: unsigned values (FAM_G32); Q8_0's |w| with
 * sign masks e0, e1; or, in the dot-add build, Q8_0 against ACT32U activations (q + 128) from e0 = -128·Σw.
 */
// @ts-ignore: decorator
@inline function blockDot(fam: i32, x0: v128, x1: v128, w0: v128, w1: v128, e0: v128, e1: v128): v128 {
  if (fam != FAM_S32) return dot32u(x0, w0, x1, w1);
  return DOT_ADD ? dot32offset(w0, x0, w1, x1, e0) : dot32s(x0, w0, e0, x1, w1, e1);
}

/**
 * acc[t] for t < n (f32x4 each, at `acc`) = row · token t over all blocks, without the min term. Token t's
 * activations are at x + t·xs.
 */
// @ts-ignore: decorator
@inline function intRowTokens(fam: i32, row: usize, cols: i32, x: usize, xs: usize, n: i32, acc: usize): void {
  const nb = cols >> 5;
  const zero = f32x4.splat(0);
  for (let t = 0; t < n; t++) v128.store(acc + <usize>(t * 16), zero);
  const sv = row + <usize>valueBytes(fam, cols);
  for (let b = 0; b < nb; b++) {
    const wp = row + <usize>(b * 32);
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, 16);
    // FAM_S32: sign masks (DOT_ADD: e0 is -128·Σw); FAM_G32: unused.
    const e0 = fam == FAM_S32 ? v128.load(wp + <usize>cols) : zero;
    const e1 = fam == FAM_S32 && !DOT_ADD ? v128.load(wp + <usize>cols, 16) : zero;
    const s0 = v128.load(sv + <usize>(b * 16));
    let ap = x + <usize>(b * 32);
    let dp = x + <usize>(cols + b * 16);
    let cp = acc;
    let t = 0;
    // Two tokens per iteration halve the loop's bookkeeping (counters, V8's interrupt check).
    for (; t + 2 <= n; t += 2) {
      v128.store(cp, tokenStep(fam, ap, dp, v128.load(cp), w0, w1, e0, e1, s0));
      v128.store(cp, tokenStep(fam, ap + xs, dp + xs, v128.load(cp, 16), w0, w1, e0, e1, s0), 16);
      ap += 2 * xs;
      dp += 2 * xs;
      cp += 32;
    }
    if (t < n) v128.store(cp, tokenStep(fam, ap, dp, v128.load(cp), w0, w1, e0, e1, s0));
  }
}

// @ts-ignore: decorator
@inline function intRows(
  fam: i32,
  rows: usize,
  ds: usize,
  nRows: i32,
  cols: i32,
  x: usize,
  n: i32,
  acc: usize,
  out: usize,
  os: usize,
): void {
  const xs = <usize>actStride(ACT32, cols);
  let r = 0;
  if (DOT_ADD && (fam == FAM_G32 || fam == FAM_S32)) {
    // Two rows × two tokens per pass: every weight and activation vector loaded serves two dot products
    // (measured 1.2-1.5× on Node 24; without the fused dot-add, register pressure makes it no faster).
    for (; r + 2 <= nRows; r += 2) {
      const row = rows + <usize>r * ds;
      const o = out + <usize>(r * 4);
      let t = 0;
      for (; t + 2 <= n; t += 2) intRows2x2(fam, row, row + ds, cols, x + <usize>t * xs, xs, o + <usize>t * os, os);
      if (t < n) {
        intRowFrom(fam, row, cols, x, xs, t, n, acc, o, os);
        intRowFrom(fam, row + ds, cols, x, xs, t, n, acc, o + 4, os);
      }
    }
  }
  for (; r < nRows; r++) intRowFrom(fam, rows + <usize>r * ds, cols, x, xs, 0, n, acc, out + <usize>(r * 4), os);
}

/** One decoded row against tokens [t0, n): output token t at o + t·os. */
// @ts-ignore: decorator
@inline function intRowFrom(
  fam: i32,
  row: usize,
  cols: i32,
  x: usize,
  xs: usize,
  t0: i32,
  n: i32,
  acc: usize,
  o: usize,
  os: usize,
): void {
  // Unsigned blocks (and the dot-add build's Q8_0): two tokens per row pass with register accumulators
  // (measured ~15% faster). Q8_0's sign masks leave too few registers for that; its token-inner loop is as fast.
  let t = t0;
  if (fam == FAM_G32 || (DOT_ADD && fam == FAM_S32)) {
    for (; t + 2 <= n; t += 2) intRowDot2(fam, row, cols, x + <usize>t * xs, x + <usize>(t + 1) * xs, o + <usize>t * os, os);
  }
  if (t == n) return;
  const xt = x + <usize>t * xs;
  intRowTokens(fam, row, cols, xt, xs, n - t, acc);
  for (let u = 0; u < n - t; u++) {
    const y = hsum(v128.load(acc + <usize>(u * 16))) + minTerm(fam, row, cols, xt + <usize>u * xs);
    store<f32>(o + <usize>(t + u) * os, y);
  }
}

/**
 * Decoded rows r0 and r1 (FAM_G32, or DOT_ADD's Q8_0 against ACT32U) against tokens a and a + xs, four
 * accumulators in registers. Outputs: row r0 at out, r1 at out + 4; the second token os further.
 */
// @ts-ignore: decorator
@inline function intRows2x2(fam: i32, r0: usize, r1: usize, cols: i32, a: usize, xs: usize, out: usize, os: usize): void {
  const zero = f32x4.splat(0);
  let c00 = zero;
  let c01 = zero;
  let c10 = zero;
  let c11 = zero;
  let w = r0;
  const gap = r1 - r0;
  // Decoded rows: values [cols] (Q8_0: then -128·Σw vectors in the next cols bytes), then splatted scales.
  let sp = r0 + <usize>valueBytes(fam, cols);
  let ap = a;
  let dp = a + <usize>cols;
  const end = r0 + <usize>cols;
  while (w < end) {
    const xa0 = v128.load(ap);
    const xa1 = v128.load(ap, 16);
    const xb0 = v128.load(ap + xs);
    const xb1 = v128.load(ap + xs, 16);
    const da = v128.load(dp);
    const db = v128.load(dp + xs);
    let w0 = v128.load(w);
    let w1 = v128.load(w, 16);
    let e = fam == FAM_S32 ? v128.load(w + <usize>cols) : zero;
    let s = v128.load(sp);
    c00 = madd(f32x4.convert_i32x4_s(blockDot(fam, xa0, xa1, w0, w1, e, zero)), f32x4.mul(s, da), c00);
    c01 = madd(f32x4.convert_i32x4_s(blockDot(fam, xb0, xb1, w0, w1, e, zero)), f32x4.mul(s, db), c01);
    w0 = v128.load(w + gap);
    w1 = v128.load(w + gap, 16);
    e = fam == FAM_S32 ? v128.load(w + gap + <usize>cols) : zero;
    s = v128.load(sp + gap);
    c10 = madd(f32x4.convert_i32x4_s(blockDot(fam, xa0, xa1, w0, w1, e, zero)), f32x4.mul(s, da), c10);
    c11 = madd(f32x4.convert_i32x4_s(blockDot(fam, xb0, xb1, w0, w1, e, zero)), f32x4.mul(s, db), c11);
    w += 32;
    sp += 16;
    ap += 32;
    dp += 16;
  }
  store<f32>(out, hsum(c00) + minTerm(fam, r0, cols, a));
  store<f32>(out, hsum(c10) + minTerm(fam, r1, cols, a), 4);
  store<f32>(out + os, hsum(c01) + minTerm(fam, r0, cols, a + xs));
  store<f32>(out + os, hsum(c11) + minTerm(fam, r1, cols, a + xs), 4);
}

/** One decoded row against two tokens, accumulators in registers: each weight vector serves both. */
// @ts-ignore: decorator
@inline function intRowDot2(fam: i32, row: usize, cols: i32, a: usize, b: usize, out: usize, os: usize): void {
  const zero = f32x4.splat(0);
  let cA = zero;
  let cB = zero;
  let wp = row;
  let sp = row + <usize>valueBytes(fam, cols);
  let ap = a;
  let bp = b;
  let dA = a + <usize>cols;
  let dB = b + <usize>cols;
  const end = row + <usize>cols;
  while (wp < end) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, 16);
    const e0 = fam == FAM_S32 ? v128.load(wp + <usize>cols) : zero;
    const e1 = fam == FAM_S32 && !DOT_ADD ? v128.load(wp + <usize>cols, 16) : zero;
    const s0 = v128.load(sp);
    cA = tokenStep(fam, ap, dA, cA, w0, w1, e0, e1, s0);
    cB = tokenStep(fam, bp, dB, cB, w0, w1, e0, e1, s0);
    wp += 32;
    sp += 16;
    ap += 32;
    bp += 32;
    dA += 16;
    dB += 16;
  }
  store<f32>(out, hsum(cA) + minTerm(fam, row, cols, a));
  store<f32>(out + os, hsum(cB) + minTerm(fam, row, cols, b));
}

function rowsG32(rows: usize, ds: usize, nRows: i32, cols: i32, x: usize, n: i32, acc: usize, out: usize, os: usize): void {
  intRows(FAM_G32, rows, ds, nRows, cols, x, n, acc, out, os);
}

/**
 * One decoded K-quant row against one ACT256 token: per super-block, the groups' integer dot products
 * times their integer scales sum in i32 (the scale rides in the i16→i32 multiply-add), then two floats.
 */
// @ts-ignore: decorator
@inline function kRowDot(q6: bool, row: usize, cols: i32, a: usize): f32 {
  const nsb = cols >> 8;
  const groups = q6 ? cols >> 4 : cols >> 5;
  const gsc = row + <usize>cols;
  const mco = gsc + <usize>(16 * groups);
  const dab = mco + <usize>(32 * nsb);
  let acc = f32x4.splat(0);
  for (let s = 0; s < nsb; s++) {
    // Running pointers and two groups per iteration: index arithmetic and V8's per-iteration interrupt
    // check otherwise cost as much as the SIMD work.
    let wp = row + <usize>(s * 256);
    let xp = a + <usize>(s * 256);
    let gp = gsc + <usize>(s * (q6 ? 256 : 128));
    const end = wp + 256;
    let i0 = i32x4.splat(0);
    let i1 = i0;
    while (wp < end) {
      if (q6) {
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(pairs16(v128.load(xp), v128.load(wp)), v128.load(gp)));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(pairs16(v128.load(xp, 16), v128.load(wp, 16)), v128.load(gp, 16)));
        wp += 32;
        xp += 32;
        gp += 32;
      } else {
        // Lanes stay below 2^15: 2 pairs · 2 · 127 · 31.
        const p0 = i16x8.add(pairs16(v128.load(xp), v128.load(wp)), pairs16(v128.load(xp, 16), v128.load(wp, 16)));
        const p1 = i16x8.add(pairs16(v128.load(xp, 32), v128.load(wp, 32)), pairs16(v128.load(xp, 48), v128.load(wp, 48)));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(p0, v128.load(gp)));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(p1, v128.load(gp, 16)));
        wp += 64;
        xp += 64;
        gp += 32;
      }
    }
    acc = kFinish(i32x4.add(i0, i1), mco, dab, a, cols, nsb, s, acc);
  }
  return hsum(acc);
}

/** One super-block's float contribution for one token: dx · (dab0 · isum + dab1 · Σ mco·bsum). */
// @ts-ignore: decorator
@inline function kFinish(isum: v128, mco: usize, dab: usize, a: usize, cols: i32, nsb: i32, s: i32, acc: v128): v128 {
  const m = mco + <usize>(s * 32);
  const b = a + <usize>(cols + 4 * nsb + s * 32);
  const imin = i32x4.add(i32x4.dot_i16x8_s(v128.load(b), v128.load(m)), i32x4.dot_i16x8_s(v128.load(b, 16), v128.load(m, 16)));
  const dx = load<f32>(a + <usize>(cols + s * 4));
  const f = dab + <usize>(s * 8);
  acc = madd(f32x4.convert_i32x4_s(isum), f32x4.splat(load<f32>(f) * dx), acc);
  return madd(f32x4.convert_i32x4_s(imin), f32x4.splat(load<f32>(f, 4) * dx), acc);
}

/** kRowDot for two tokens at once: every weight and scale vector loaded serves both. */
// @ts-ignore: decorator
@inline function kRowDot2(q6: bool, row: usize, cols: i32, a: usize, b: usize, out: usize, os: usize): void {
  const nsb = cols >> 8;
  const groups = q6 ? cols >> 4 : cols >> 5;
  const gsc = row + <usize>cols;
  const mco = gsc + <usize>(16 * groups);
  const dab = mco + <usize>(32 * nsb);
  let accA = f32x4.splat(0);
  let accB = accA;
  for (let s = 0; s < nsb; s++) {
    let wp = row + <usize>(s * 256);
    let ap = a + <usize>(s * 256);
    let bp = b + <usize>(s * 256);
    let gp = gsc + <usize>(s * (q6 ? 256 : 128));
    const end = wp + 256;
    let iA = i32x4.splat(0);
    let iB = iA;
    while (wp < end) {
      const w0 = v128.load(wp);
      const w1 = v128.load(wp, 16);
      const g = v128.load(gp);
      if (q6) {
        // Two groups of 16, each with its own scale.
        const h = v128.load(gp, 16);
        iA = i32x4.add(iA, i32x4.add(i32x4.dot_i16x8_s(pairs16(v128.load(ap), w0), g), i32x4.dot_i16x8_s(pairs16(v128.load(ap, 16), w1), h)));
        iB = i32x4.add(iB, i32x4.add(i32x4.dot_i16x8_s(pairs16(v128.load(bp), w0), g), i32x4.dot_i16x8_s(pairs16(v128.load(bp, 16), w1), h)));
        gp += 32;
      } else {
        // One group of 32; lanes stay below 2^15: 2 pairs · 2 · 127 · 31.
        iA = i32x4.add(iA, i32x4.dot_i16x8_s(i16x8.add(pairs16(v128.load(ap), w0), pairs16(v128.load(ap, 16), w1)), g));
        iB = i32x4.add(iB, i32x4.dot_i16x8_s(i16x8.add(pairs16(v128.load(bp), w0), pairs16(v128.load(bp, 16), w1)), g));
        gp += 16;
      }
      wp += 32;
      ap += 32;
      bp += 32;
    }
    accA = kFinish(iA, mco, dab, a, cols, nsb, s, accA);
    accB = kFinish(iB, mco, dab, b, cols, nsb, s, accB);
  }
  store<f32>(out, hsum(accA));
  store<f32>(out + os, hsum(accB));
}

// @ts-ignore: decorator
@inline function kRows(q6: bool, rows: usize, ds: usize, nRows: i32, cols: i32, x: usize, n: i32, out: usize, os: usize): void {
  const xs = <usize>actStride(ACT256, cols);
  for (let r = 0; r < nRows; r++) {
    const row = rows + <usize>r * ds;
    const o = out + <usize>(r * 4);
    let t = 0;
    for (; t + 2 <= n; t += 2) kRowDot2(q6, row, cols, x + <usize>t * xs, x + <usize>(t + 1) * xs, o + <usize>t * os, os);
    if (t < n) store<f32>(o + <usize>t * os, kRowDot(q6, row, cols, x + <usize>t * xs));
  }
}

function rowsK(rows: usize, ds: usize, nRows: i32, cols: i32, x: usize, n: i32, out: usize, os: usize): void {
  kRows(false, rows, ds, nRows, cols, x, n, out, os);
}
function rowsQ6K(rows: usize, ds: usize, nRows: i32, cols: i32, x: usize, n: i32, out: usize, os: usize): void {
  kRows(true, rows, ds, nRows, cols, x, n, out, os);
}
function rowsS32(rows: usize, ds: usize, nRows: i32, cols: i32, x: usize, n: i32, acc: usize, out: usize, os: usize): void {
  intRows(FAM_S32, rows, ds, nRows, cols, x, n, acc, out, os);
}

function floatTile4(row: usize, cols: i32, x: usize, out: usize, os: usize): void {
  const xs = <usize>cols * 4;
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let c2 = c0;
  let c3 = c0;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const o = <usize>(c * 4);
    const w = v128.load(row + o);
    c0 = madd(w, v128.load(x + o), c0);
    c1 = madd(w, v128.load(x + xs + o), c1);
    c2 = madd(w, v128.load(x + 2 * xs + o), c2);
    c3 = madd(w, v128.load(x + 3 * xs + o), c3);
  }
  let s0 = hsum(c0);
  let s1 = hsum(c1);
  let s2 = hsum(c2);
  let s3 = hsum(c3);
  for (; c < cols; c++) {
    const o = <usize>(c * 4);
    const w = load<f32>(row + o);
    s0 += w * load<f32>(x + o);
    s1 += w * load<f32>(x + xs + o);
    s2 += w * load<f32>(x + 2 * xs + o);
    s3 += w * load<f32>(x + 3 * xs + o);
  }
  store<f32>(out, s0);
  store<f32>(out + os, s1);
  store<f32>(out + 2 * os, s2);
  store<f32>(out + 3 * os, s3);
}

/** Two rows (`rs` bytes apart) × four tokens: eight accumulators, each loaded vector used four or two times. */
function floatTile2x4(row: usize, rs: usize, cols: i32, x: usize, out: usize, os: usize): void {
  const xs = <usize>cols * 4;
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let b0 = a0;
  let b1 = a0;
  let b2 = a0;
  let b3 = a0;
  const end = x + <usize>(cols & ~3) * 4;
  let w = row;
  for (let p = x; p < end; p += 16) {
    const v = v128.load(w);
    const u = v128.load(w + rs);
    const x0 = v128.load(p);
    a0 = madd(v, x0, a0);
    b0 = madd(u, x0, b0);
    const x1 = v128.load(p + xs);
    a1 = madd(v, x1, a1);
    b1 = madd(u, x1, b1);
    const x2 = v128.load(p + 2 * xs);
    a2 = madd(v, x2, a2);
    b2 = madd(u, x2, b2);
    const x3 = v128.load(p + 3 * xs);
    a3 = madd(v, x3, a3);
    b3 = madd(u, x3, b3);
    w += 16;
  }
  // Tail columns: fold them into lane 0 of each accumulator before the horizontal sums.
  for (let c = cols & ~3; c < cols; c++) {
    const o = <usize>(c * 4);
    const v = f32x4.splat(load<f32>(row + o));
    const u = f32x4.splat(load<f32>(row + rs + o));
    const x0 = v128.load32_zero(x + o);
    const x1 = v128.load32_zero(x + xs + o);
    const x2 = v128.load32_zero(x + 2 * xs + o);
    const x3 = v128.load32_zero(x + 3 * xs + o);
    a0 = madd(v, x0, a0);
    a1 = madd(v, x1, a1);
    a2 = madd(v, x2, a2);
    a3 = madd(v, x3, a3);
    b0 = madd(u, x0, b0);
    b1 = madd(u, x1, b1);
    b2 = madd(u, x2, b2);
    b3 = madd(u, x3, b3);
  }
  store<f32>(out, hsum(a0));
  store<f32>(out + os, hsum(a1));
  store<f32>(out + 2 * os, hsum(a2));
  store<f32>(out + 3 * os, hsum(a3));
  store<f32>(out, hsum(b0), 4);
  store<f32>(out + os, hsum(b1), 4);
  store<f32>(out + 2 * os, hsum(b2), 4);
  store<f32>(out + 3 * os, hsum(b3), 4);
}

function floatTile1(row: usize, cols: i32, x: usize, out: usize): void {
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let c2 = c0;
  let c3 = c0;
  let c = 0;
  for (; c + 16 <= cols; c += 16) {
    const o = <usize>(c * 4);
    c0 = madd(v128.load(row + o), v128.load(x + o), c0);
    c1 = madd(v128.load(row + o, 16), v128.load(x + o, 16), c1);
    c2 = madd(v128.load(row + o, 32), v128.load(x + o, 32), c2);
    c3 = madd(v128.load(row + o, 48), v128.load(x + o, 48), c3);
  }
  for (; c + 4 <= cols; c += 4) c0 = madd(v128.load(row + <usize>(c * 4)), v128.load(x + <usize>(c * 4)), c0);
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; c < cols; c++) s += load<f32>(row + <usize>(c * 4)) * load<f32>(x + <usize>(c * 4));
  store<f32>(out, s);
}

/** Float rows (`nRows` rows `rs` bytes apart) against f32 tokens, four tokens at a time. */
function floatRows(rows: usize, rs: usize, nRows: i32, cols: i32, x: usize, nTokens: i32, out: usize, os: usize): void {
  const xs = <usize>cols * 4;
  for (let t = 0; t < nTokens; t += 4) {
    const xt = x + <usize>t * xs;
    for (let r = 0; r < nRows; r++) {
      const row = rows + <usize>r * rs;
      const o = out + <usize>t * os + <usize>(r * 4);
      if (nTokens - t < 4) {
        for (let u = t; u < nTokens; u++) floatTile1(row, cols, x + <usize>u * xs, out + <usize>u * os + <usize>(r * 4));
      } else if (r + 1 < nRows) {
        floatTile2x4(row, rs, cols, xt, o, os);
        r++;
      } else {
        floatTile4(row, cols, xt, o, os);
      }
    }
  }
}

/**
 * Items [i0, i1) of a batched dense product: out f32 `[batch][m][n]` = a f32 `[batch][m][k]` · (b f32
 * `[batch][n][k]`)ᵀ. An item is one matrix's block of up to `per` rows of b (columns of out), so a thread
 * reuses each loaded row of b against all of that matrix's rows of a.
 */
export function productItems(a: usize, b: usize, m: i32, n: i32, k: i32, out: usize, per: i32, i0: i32, i1: i32): void {
  const blocks = (n + per - 1) / per;
  for (let i = i0; i < i1; i++) {
    const mat = <usize>(i / blocks);
    const r0 = (i % blocks) * per;
    const r1 = min(n, r0 + per);
    const rows = b + (mat * <usize>n + <usize>r0) * <usize>k * 4;
    const x = a + mat * <usize>m * <usize>k * 4;
    const o = out + mat * <usize>m * <usize>n * 4 + <usize>r0 * 4;
    floatRows(rows, <usize>k * 4, r1 - r0, k, x, m, o, <usize>n * 4);
  }
}

/** Activation layout matmulRows expects for `type` and `nTokens`: ACT32, ACT256, or -1 (f32 input). */
export function actKind(type: i32, nTokens: i32): i32 {
  const fam = family(type);
  if (fam == FAM_F || fam == FAM_NONE) return -1;
  if (fam == FAM_K) return ACT256;
  const kind = nTokens == 1 ? gemvKind(type) : -1;
  if (kind >= 0) return kind;
  return DOT_ADD && fam == FAM_S32 ? ACT32U : ACT32;
}

/** Scratch bytes one thread needs for matmulRows over `rowsPerChunk` rows. */
export function scratchBytes(type: i32, cols: i32, rowsPerChunk: i32): i32 {
  return rowsPerChunk * decodedStride(type, cols) + TOKEN_TILE * 16;
}

/**
 * out f32 `[nTokens][rows]`, rows [r0, r1). `x` is the f32 input (float weights) or the activations
 * quantized as actKind(type, nTokens). `scratch` (scratchBytes) belongs to the calling thread.
 */
export function matmulRows(
  type: i32,
  w: usize,
  rowBytes: i32,
  rows: i32,
  cols: i32,
  x: usize,
  nTokens: i32,
  out: usize,
  r0: i32,
  r1: i32,
  scratch: usize,
): void {
  if (nTokens == 1 && gemvKind(type) >= 0) {
    gemvRows(type, w, rowBytes, cols, x, out, r0, r1);
    return;
  }
  if (nTokens == 1 && (type == F16 || type == BF16)) {
    halfRows(type, w, rowBytes, cols, x, out, r0, r1);
    return;
  }
  const fam = family(type);
  const os = <usize>rows * 4;
  if (type == F32) {
    floatRows(w + <usize>r0 * <usize>rowBytes, <usize>rowBytes, r1 - r0, cols, x, nTokens, out + <usize>(r0 * 4), os);
    return;
  }
  const ds = <usize>decodedStride(type, cols);
  const nRows = r1 - r0;
  for (let r = 0; r < nRows; r++) decodeRow(type, w + <usize>(r0 + r) * <usize>rowBytes, cols, scratch + <usize>r * ds);
  if (fam == FAM_F) {
    floatRows(scratch, ds, nRows, cols, x, nTokens, out + <usize>(r0 * 4), os);
    return;
  }
  const acc = scratch + <usize>nRows * ds;
  const xs = <usize>actStride(fam == FAM_K ? ACT256 : ACT32, cols);
  for (let t = 0; t < nTokens; t += TOKEN_TILE) {
    const n = min(TOKEN_TILE, nTokens - t);
    const xt = x + <usize>t * xs;
    const ot = out + <usize>t * os + <usize>(r0 * 4);
    if (fam == FAM_G32) rowsG32(scratch, ds, nRows, cols, xt, n, acc, ot, os);
    else if (fam == FAM_S32) rowsS32(scratch, ds, nRows, cols, xt, n, acc, ot, os);
    else if (type == Q6_K) rowsQ6K(scratch, ds, nRows, cols, xt, n, ot, os);
    else rowsK(scratch, ds, nRows, cols, xt, n, ot, os);
  }
}
