// Matmul over decoded rows (decode.ts) and quantized activations (quant.ts). A chunk of rows is decoded
// once into the calling thread's scratch, then every tile of four tokens walks those rows with the four
// accumulators in registers, so each decoded weight vector is loaded once per four tokens.
import { decodeRow } from './decode';
import { gemvKind, gemvRows } from './gemv';
import { ACT32, actStride } from './quant';
import { dot16s, dot16u, dot32u, hsum, madd } from './simd';
import { decodedStride, F32, FAM_F, FAM_G16, FAM_G32, FAM_NONE, FAM_S32, family } from './types';

/** One integer group's contribution: dot of the block's bytes, scaled by weight × activation scales. */
// @ts-ignore: decorator
@inline function blockDot(fam: i32, row: usize, cols: i32, b: i32, a: usize, acc: v128): v128 {
  const wp = row + <usize>(b * 32);
  const ap = a + <usize>(b * 32);
  const dx = v128.load(a + <usize>(cols + b * 16));
  if (fam == FAM_G16) {
    const sv = row + <usize>(cols + b * 32);
    const lo = f32x4.convert_i32x4_s(dot16u(v128.load(ap), v128.load(wp)));
    const hi = f32x4.convert_i32x4_s(dot16u(v128.load(ap, 16), v128.load(wp, 16)));
    acc = madd(lo, f32x4.mul(v128.load(sv), dx), acc);
    return madd(hi, f32x4.mul(v128.load(sv, 16), dx), acc);
  }
  const s = f32x4.mul(v128.load(row + <usize>(cols + b * 16)), dx);
  const w0 = v128.load(wp);
  const w1 = v128.load(wp, 16);
  let d: v128;
  if (fam == FAM_S32) {
    d = i32x4.add(
      dot16s(v128.load(ap), w0, i8x16.abs(w0), i8x16.lt_s(w0, i8x16.splat(0))),
      dot16s(v128.load(ap, 16), w1, i8x16.abs(w1), i8x16.lt_s(w1, i8x16.splat(0))),
    );
  } else {
    d = dot32u(v128.load(ap), w0, v128.load(ap, 16), w1);
  }
  return madd(f32x4.convert_i32x4_s(d), s, acc);
}

/** Σ_g m_g · sx_g: the offsets and mins of one row against one token's per-group sums. */
// @ts-ignore: decorator
@inline function minTerm(fam: i32, row: usize, cols: i32, a: usize): f32 {
  if (fam == FAM_S32) return 0;
  const nb = cols >> 5;
  const groups = fam == FAM_G16 ? nb * 2 : nb;
  const m = row + <usize>(cols + 16 * groups);
  const sx = a + <usize>(cols + 16 * nb + (fam == FAM_G16 ? 4 * nb : 0));
  let acc = f32x4.splat(0);
  let g = 0;
  for (; g + 4 <= groups; g += 4) acc = madd(v128.load(m + <usize>(g * 4)), v128.load(sx + <usize>(g * 4)), acc);
  let s = hsum(acc);
  for (; g < groups; g++) s += load<f32>(m + <usize>(g * 4)) * load<f32>(sx + <usize>(g * 4));
  return s;
}

// @ts-ignore: decorator
@inline function intTile4(fam: i32, row: usize, cols: i32, a: usize, as: usize, out: usize, os: usize): void {
  const nb = cols >> 5;
  const a1 = a + as;
  const a2 = a1 + as;
  const a3 = a2 + as;
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let c2 = c0;
  let c3 = c0;
  for (let b = 0; b < nb; b++) {
    c0 = blockDot(fam, row, cols, b, a, c0);
    c1 = blockDot(fam, row, cols, b, a1, c1);
    c2 = blockDot(fam, row, cols, b, a2, c2);
    c3 = blockDot(fam, row, cols, b, a3, c3);
  }
  store<f32>(out, hsum(c0) + minTerm(fam, row, cols, a));
  store<f32>(out + os, hsum(c1) + minTerm(fam, row, cols, a1));
  store<f32>(out + 2 * os, hsum(c2) + minTerm(fam, row, cols, a2));
  store<f32>(out + 3 * os, hsum(c3) + minTerm(fam, row, cols, a3));
}

// @ts-ignore: decorator
@inline function intTile1(fam: i32, row: usize, cols: i32, a: usize, out: usize): void {
  const nb = cols >> 5;
  // Two accumulators so consecutive blocks do not wait on each other's add.
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let b = 0;
  for (; b + 2 <= nb; b += 2) {
    c0 = blockDot(fam, row, cols, b, a, c0);
    c1 = blockDot(fam, row, cols, b + 1, a, c1);
  }
  if (b < nb) c0 = blockDot(fam, row, cols, b, a, c0);
  store<f32>(out, hsum(f32x4.add(c0, c1)) + minTerm(fam, row, cols, a));
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

function tile4G32(row: usize, cols: i32, a: usize, as: usize, out: usize, os: usize): void {
  intTile4(FAM_G32, row, cols, a, as, out, os);
}
function tile4G16(row: usize, cols: i32, a: usize, as: usize, out: usize, os: usize): void {
  intTile4(FAM_G16, row, cols, a, as, out, os);
}
function tile4S32(row: usize, cols: i32, a: usize, as: usize, out: usize, os: usize): void {
  intTile4(FAM_S32, row, cols, a, as, out, os);
}
function tile1G32(row: usize, cols: i32, a: usize, out: usize): void {
  intTile1(FAM_G32, row, cols, a, out);
}
function tile1G16(row: usize, cols: i32, a: usize, out: usize): void {
  intTile1(FAM_G16, row, cols, a, out);
}
function tile1S32(row: usize, cols: i32, a: usize, out: usize): void {
  intTile1(FAM_S32, row, cols, a, out);
}

/** Activation layout matmulRows expects for `type` and `nTokens`: ACT32, ACT256, or -1 (f32 input). */
export function actKind(type: i32, nTokens: i32): i32 {
  const fam = family(type);
  if (fam == FAM_F || fam == FAM_NONE) return -1;
  const kind = nTokens == 1 ? gemvKind(type) : -1;
  return kind >= 0 ? kind : ACT32;
}

/**
 * out f32 `[nTokens][rows]`, rows [r0, r1). `x` is the f32 input (float weights) or the activations
 * quantized as actKind(type, nTokens). `scratch` holds (r1 - r0) decoded rows and belongs to the calling thread.
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
  const fam = family(type);
  const direct = type == F32;
  const ds = <usize>decodedStride(type, cols);
  if (!direct) {
    for (let r = r0; r < r1; r++) decodeRow(type, w + <usize>r * <usize>rowBytes, cols, scratch + <usize>(r - r0) * ds);
  }
  const xs = <usize>(fam == FAM_F ? cols * 4 : actStride(ACT32, cols));
  const os = <usize>rows * 4;
  for (let t = 0; t < nTokens; t += 4) {
    const tile = nTokens - t >= 4;
    const xt = x + <usize>t * xs;
    for (let r = r0; r < r1; r++) {
      const row = direct ? w + <usize>r * <usize>rowBytes : scratch + <usize>(r - r0) * ds;
      const o = out + <usize>t * os + <usize>r * 4;
      if (tile) {
        if (fam == FAM_F) floatTile4(row, cols, xt, o, os);
        else if (fam == FAM_G32) tile4G32(row, cols, xt, xs, o, os);
        else if (fam == FAM_G16) tile4G16(row, cols, xt, xs, o, os);
        else tile4S32(row, cols, xt, xs, o, os);
      } else {
        for (let u = t; u < nTokens; u++) {
          const xu = x + <usize>u * xs;
          const ou = out + <usize>u * os + <usize>r * 4;
          if (fam == FAM_F) floatTile1(row, cols, xu, ou);
          else if (fam == FAM_G32) tile1G32(row, cols, xu, ou);
          else if (fam == FAM_G16) tile1G16(row, cols, xu, ou);
          else tile1S32(row, cols, xu, ou);
        }
      }
    }
  }
}
