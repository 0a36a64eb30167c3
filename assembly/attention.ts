// Causal GQA attention, tiled as in FlashAttention (Dao et al. 2022, Alg. 1) with the online softmax of
// Milakov & Gimelshein (2018): an item is one KV head, a block of query tokens and (for few queries) one
// segment of the keys. All query heads of the KV head's group and all tokens of the block ("rows") share each
// tile of BK keys and values, which is read from the cache — and converted from its storage type (f16, q8_0,
// q4_0) — once per item instead of once per query and head. Scores, the running max and sum, and the output
// accumulators stay in the thread's scratch. Keys are causal by original position (per-head caches of
// different lengths and with gaps). Split segments (decode: FlashDecoding) are merged by attentionMerge.
// When a press asks for probabilities, a second pass recomputes each row's scores and normalises them with
// the row's final max and sum.
import { expInRange, f16, hi4, hsum, lo4, madd } from './simd';
import { F16, F32, Q4_0, Q8_0 } from './types';

/** Keys per tile. */
const BK: i32 = 32;

/** Number of leading entries of the increasing i32 array `pos[len]` that are <= `limit`. */
function visiblePrefix(pos: usize, len: i32, limit: i32): i32 {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<i32>(pos + <usize>(mid * 4)) <= limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bytes of one stored row of `d` values. */
export function kvRowBytes(type: i32, d: i32): i32 {
  if (type == F16) return d * 2;
  if (type == Q8_0) return (d >> 5) * 34;
  if (type == Q4_0) return (d >> 5) * 18;
  return d * 4;
}

/** Eight int8 lanes (the low or high half of `q`) times `s`, as two f32x4 stored at dst. */
// @ts-ignore: decorator
@inline function storeI8Half(q: v128, high: bool, s: v128, dst: usize): void {
  const w = high ? i16x8.extend_high_i8x16_s(q) : i16x8.extend_low_i8x16_s(q);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(w)), s));
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(w)), s), 16);
}

/** 16 int8 values times `s` to 16 floats at dst. */
// @ts-ignore: decorator
@inline function storeI8x16(q: v128, s: v128, dst: usize): void {
  storeI8Half(q, false, s, dst);
  storeI8Half(q, true, s, dst + 32);
}

/** 2^112: a half's bits moved into a single's place (halves8) read as the half's value times 2^-112. */
const REBIAS: f32 = reinterpret<f32>(0x77800000);
/**
 * Queries (times the softmax scale) below this magnitude may carry the 2^112 of f16 keys (FOLD_LIMIT · 2^112
 * < 2^127, so no product or sum of them overflows where the unfolded one would not).
 */
const FOLD_LIMIT: f32 = 8192;

/**
 * Eight halves to eight singles at dst (the first four only unless `both`), as weightHalves computes them but
 * on 16-bit lanes: the arithmetic shift and mask make each single's top half, the left shift its bottom
 * half, and two interleaves join them: five instructions for eight values, where widening first took
 * eight. With `rebias` false the singles are the halves' values times 2^-112 (exactly: f16 normals land on
 * f32 normals, subnormals on subnormals), and the caller has put the 2^112 on the other operand.
 */
// @ts-ignore: decorator
@inline function halves8(h: v128, dst: usize, both: bool, rebias: bool): void {
  const top = v128.and(i16x8.shr_s(h, 3), i16x8.splat(<i16>0x8fff));
  const bottom = i16x8.shl(h, 13);
  let lo = i16x8.shuffle(bottom, top, 0, 8, 1, 9, 2, 10, 3, 11);
  if (rebias) lo = f32x4.mul(lo, f32x4.splat(REBIAS));
  v128.store(dst, lo);
  if (!both) return;
  let hi = i16x8.shuffle(bottom, top, 4, 12, 5, 13, 6, 14, 7, 15);
  if (rebias) hi = f32x4.mul(hi, f32x4.splat(REBIAS));
  v128.store(dst, hi, 16);
}

/** `n` stored rows (f16, q8_0 or q4_0, `rb` bytes each) to f32 `[n][d]` at dst; f16 times 2^-112 unless `rebias`. */
function convertRows(type: i32, src: usize, rb: usize, n: i32, d: i32, dst: usize, rebias: bool): void {
  const d4 = <usize>d * 4;
  for (let j = 0; j < n; j++) {
    const row = src + <usize>j * rb;
    const out = dst + <usize>j * d4;
    if (type == F16) {
      let c = 0;
      // Two loops with `rebias` constant in each: one loop testing it per 8 values measured 12% slower in decode.
      if (rebias) {
        for (; c + 8 <= d; c += 8) halves8(v128.load(row + <usize>(c * 2)), out + <usize>(c * 4), true, true);
        if (c < d) halves8(v128.load64_zero(row + <usize>(c * 2)), out + <usize>(c * 4), false, true);
      } else {
        for (; c + 8 <= d; c += 8) halves8(v128.load(row + <usize>(c * 2)), out + <usize>(c * 4), true, false);
        if (c < d) halves8(v128.load64_zero(row + <usize>(c * 2)), out + <usize>(c * 4), false, false);
      }
    } else if (type == Q8_0) {
      for (let b = 0; b < d; b += 32) {
        const p = row + <usize>((b >> 5) * 34);
        const s = f32x4.splat(f16(load<u16>(p)));
        storeI8x16(v128.load(p, 2), s, out + <usize>(b * 4));
        storeI8x16(v128.load(p, 18), s, out + <usize>(b * 4) + 64);
      }
    } else {
      // Q4_0: element i of a block is the low nibble of byte i, element i + 16 the high nibble; both minus 8.
      const eight = i8x16.splat(8);
      for (let b = 0; b < d; b += 32) {
        const p = row + <usize>((b >> 5) * 18);
        const s = f32x4.splat(f16(load<u16>(p)));
        const q = v128.load(p, 2);
        storeI8x16(i8x16.sub(lo4(q), eight), s, out + <usize>(b * 4));
        storeI8x16(i8x16.sub(hi4(q), eight), s, out + <usize>(b * 4) + 64);
      }
    }
  }
}

/** Lane sums of four vectors, as one vector [Σa, Σb, Σc, Σd]. */
// @ts-ignore: decorator
@inline function sum4x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** q · k over d floats (d a multiple of 4). */
// @ts-ignore: decorator
@inline function dot(q: usize, k: usize, d4: usize): f32 {
  let c = f32x4.splat(0);
  for (let o: usize = 0; o < d4; o += 16) c = madd(v128.load(q + o), v128.load(k + o), c);
  return hsum(c);
}

/**
 * Scores of rows a and b (pre-scaled queries, `d4` bytes each) against the `nk` keys of a tile (row-major
 * f32, `d4` apart) into sa / sb: four keys × two rows of accumulators, so each key vector loaded serves both.
 * With `two` false only row a is computed.
 */
function scoreTile(a: usize, b: usize, two: bool, kt: usize, d4: usize, nk: i32, sa: usize, sb: usize): void {
  let j = 0;
  for (; j + 4 <= nk; j += 4) {
    const k = kt + <usize>j * d4;
    let a0 = f32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let b0 = a0;
    let b1 = a0;
    let b2 = a0;
    let b3 = a0;
    for (let o: usize = 0; o < d4; o += 16) {
      const k0 = v128.load(k + o);
      const k1 = v128.load(k + d4 + o);
      const k2 = v128.load(k + 2 * d4 + o);
      const k3 = v128.load(k + 3 * d4 + o);
      const x = v128.load(a + o);
      a0 = madd(x, k0, a0);
      a1 = madd(x, k1, a1);
      a2 = madd(x, k2, a2);
      a3 = madd(x, k3, a3);
      if (two) {
        const y = v128.load(b + o);
        b0 = madd(y, k0, b0);
        b1 = madd(y, k1, b1);
        b2 = madd(y, k2, b2);
        b3 = madd(y, k3, b3);
      }
    }
    v128.store(sa + <usize>(j * 4), sum4x4(a0, a1, a2, a3));
    if (two) v128.store(sb + <usize>(j * 4), sum4x4(b0, b1, b2, b3));
  }
  for (; j < nk; j++) {
    const k = kt + <usize>j * d4;
    store<f32>(sa + <usize>(j * 4), dot(a, k, d4));
    if (two) store<f32>(sb + <usize>(j * 4), dot(b, k, d4));
  }
}

/**
 * e^x for x ≤ 0 (softmax arguments after the max is subtracted); below -87 (and for -∞) 0, not a subnormal.
 * pmax (x < -87 ? -87 : x) is one instruction where f32x4.max's NaN rules cost eight; a NaN lane passes
 * through both it and the mask, so a NaN score still poisons its row as in the reference.
 */
// @ts-ignore: decorator
@inline function expNeg(x: v128): v128 {
  return v128.andnot(expInRange(f32x4.pmax(x, f32x4.splat(-87))), f32x4.lt(x, f32x4.splat(-87)));
}

/** Lanes j..j+3 of a row whose first `lim` entries count: a mask of the lanes below lim. */
// @ts-ignore: decorator
@inline function below(j: i32, lim: i32): v128 {
  return i32x4.lt_s(i32x4(j, j + 1, j + 2, j + 3), i32x4.splat(lim));
}

/**
 * Online softmax step for one row: scores s[0, lim) (lim ≥ 1) become e^(s − m') with m' the new running max,
 * lanes from lim on become 0; returns the factor e^(m − m') that the row's sum and output must be scaled by.
 * m and l are at mp / lp. The weights are stored times `ps` (2^112 for f16 values converted without their
 * rebias, else 1: exact either way), the sum is of the weights themselves.
 */
function softmaxStep(s: usize, lim: i32, nk: i32, mp: usize, lp: usize, ps: v128): f32 {
  let mx4 = f32x4.splat(-Infinity);
  let j = 0;
  for (; j < lim; j += 4) {
    const v = v128.load(s + <usize>(j * 4));
    // pmax (one maxps) skips a NaN score here; expNeg passes it on to the row's sum and output.
    mx4 = f32x4.pmax(mx4, j + 4 <= lim ? v : v128.bitselect(v, f32x4.splat(-Infinity), below(j, lim)));
  }
  mx4 = f32x4.pmax(mx4, i32x4.shuffle(mx4, mx4, 2, 3, 0, 1));
  const mx = max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1));
  const old = load<f32>(mp);
  const m = max(old, mx);
  const mv = f32x4.splat(m);
  let sum4 = f32x4.splat(0);
  for (j = 0; j < nk; j += 4) {
    const p = s + <usize>(j * 4);
    let e = expNeg(f32x4.sub(v128.load(p), mv));
    if (j + 4 > lim) e = v128.and(e, below(j, lim));
    v128.store(p, f32x4.mul(e, ps));
    sum4 = f32x4.add(sum4, e);
  }
  const corr = f32x4.extract_lane(expNeg(f32x4.splat(old - m)), 0);
  store<f32>(mp, m);
  store<f32>(lp, load<f32>(lp) * corr + hsum(sum4));
  return corr;
}

/** o[0, d) of rows a and b (the second only if `two`) += Σ_j p_j · V[j] over nk value rows, after o *= corr. */
function weighTile(
  pa: usize,
  pb: usize,
  two: bool,
  vt: usize,
  d: i32,
  nk: i32,
  oa: usize,
  ob: usize,
  ca: f32,
  cb: f32,
): void {
  const d4 = <usize>d * 4;
  const fa = f32x4.splat(ca);
  const fb = f32x4.splat(cb);
  let c = 0;
  for (; c + 16 <= d; c += 16) {
    const off = <usize>(c * 4);
    let a0 = f32x4.mul(v128.load(oa + off), fa);
    let a1 = f32x4.mul(v128.load(oa + off, 16), fa);
    let a2 = f32x4.mul(v128.load(oa + off, 32), fa);
    let a3 = f32x4.mul(v128.load(oa + off, 48), fa);
    let b0 = f32x4.mul(v128.load(ob + off), fb);
    let b1 = f32x4.mul(v128.load(ob + off, 16), fb);
    let b2 = f32x4.mul(v128.load(ob + off, 32), fb);
    let b3 = f32x4.mul(v128.load(ob + off, 48), fb);
    let v = vt + off;
    for (let j = 0; j < nk; j++) {
      const v0 = v128.load(v);
      const v1 = v128.load(v, 16);
      const v2 = v128.load(v, 32);
      const v3 = v128.load(v, 48);
      const x = v128.load32_splat(pa + <usize>(j * 4));
      a0 = madd(x, v0, a0);
      a1 = madd(x, v1, a1);
      a2 = madd(x, v2, a2);
      a3 = madd(x, v3, a3);
      if (two) {
        const y = v128.load32_splat(pb + <usize>(j * 4));
        b0 = madd(y, v0, b0);
        b1 = madd(y, v1, b1);
        b2 = madd(y, v2, b2);
        b3 = madd(y, v3, b3);
      }
      v += d4;
    }
    v128.store(oa + off, a0);
    v128.store(oa + off, a1, 16);
    v128.store(oa + off, a2, 32);
    v128.store(oa + off, a3, 48);
    if (two) {
      v128.store(ob + off, b0);
      v128.store(ob + off, b1, 16);
      v128.store(ob + off, b2, 32);
      v128.store(ob + off, b3, 48);
    }
  }
  for (; c < d; c += 4) {
    const off = <usize>(c * 4);
    let a = f32x4.mul(v128.load(oa + off), fa);
    let b = f32x4.mul(v128.load(ob + off), fb);
    for (let j = 0; j < nk; j++) {
      const v0 = v128.load(vt + off + <usize>j * d4);
      a = madd(v128.load32_splat(pa + <usize>(j * 4)), v0, a);
      if (two) b = madd(v128.load32_splat(pb + <usize>(j * 4)), v0, b);
    }
    v128.store(oa + off, a);
    if (two) v128.store(ob + off, b);
  }
}

/** Scratch bytes one thread needs for items of `rows` rows (query heads × tokens) of `d` values. */
export function attentionScratchBytes(rows: i32, d: i32): i32 {
  // Queries, outputs, a key tile, a value tile, scores, max, sum, and each token's visible prefix.
  return 4 * (2 * rows * d + 2 * BK * d + rows * BK + 2 * rows + rows) + 64;
}

/** Floats of one partial result (split segments): max and sum per row, then the rows' outputs. */
export function attentionPartialFloats(rows: i32, d: i32): i32 {
  return rows * (d + 2);
}

/**
 * Items [i0, i1) of nKv × nQBlocks × nSeg. Queries are f32 `[nTokens][nHeads·d]` (unscaled), output the same
 * layout. `kv` holds i32 {keys, values, positions, length} per KV head, rows stored as kType / vType. A block
 * has `bq` tokens; the rows of an item are its tokens × the group's query heads. With nSeg = 1 the item
 * writes normalised outputs (and, if `probs` ≠ 0, the probabilities f32 `[nHeads][nTokens][stride]`, stride
 * = maxKeys or each head's length); with nSeg > 1 it writes a partial result to `partial` for attentionMerge.
 */
export function attention(
  out: usize,
  q: usize,
  nTokens: i32,
  nHeads: i32,
  d: i32,
  qpos: usize,
  kv: usize,
  nKv: i32,
  kType: i32,
  vType: i32,
  scale: f32,
  probs: usize,
  maxKeys: i32,
  sums: usize,
  scratch: usize,
  bq: i32,
  nSeg: i32,
  partial: usize,
  i0: i32,
  i1: i32,
): void {
  const g = nHeads / nKv;
  const nQB = (nTokens + bq - 1) / bq;
  const width = nHeads * d;
  const d4 = <usize>d * 4;
  const rowsMax = bq * g;
  const kRb = <usize>kvRowBytes(kType, d);
  const vRb = <usize>kvRowBytes(vType, d);
  // Thread scratch layout (attentionScratchBytes).
  const Q = (scratch + 63) & ~(<usize>63);
  const O = Q + <usize>rowsMax * d4;
  const KT = O + <usize>rowsMax * d4;
  const VT = KT + <usize>BK * d4;
  const S = VT + <usize>BK * d4;
  const M = S + <usize>(rowsMax * BK * 4);
  const L = M + <usize>(rowsMax * 4);
  const VIS = L + <usize>(rowsMax * 4);
  const sc = f32x4.splat(scale);
  // f16 values are converted without their 2^112 (halves8), which goes onto the softmax weights instead.
  const ps = f32x4.splat(vType == F16 ? REBIAS : 1);

  for (let item = i0; item < i1; item++) {
    const kvh = item / (nQB * nSeg);
    const rest = item % (nQB * nSeg);
    const qb = rest / nSeg;
    const seg = rest % nSeg;
    const t0 = qb * bq;
    const nt = min(bq, nTokens - t0);
    const rows = nt * g;
    const desc = kv + <usize>(kvh * 16);
    const keys = <usize>load<i32>(desc);
    const values = <usize>load<i32>(desc, 4);
    const kpos = <usize>load<i32>(desc, 8);
    const len = load<i32>(desc, 12);

    // Rows r = tt·g + gi: token t0 + tt, query head kvh·g + gi. Queries scaled once here.
    let kEnd = 0;
    let big = f32x4.splat(0);
    for (let tt = 0; tt < nt; tt++) {
      const vis = visiblePrefix(kpos, len, load<i32>(qpos + <usize>((t0 + tt) * 4)));
      store<i32>(VIS + <usize>(tt * 4), vis);
      kEnd = max(kEnd, vis);
      for (let gi = 0; gi < g; gi++) {
        const src = q + <usize>((t0 + tt) * width + (kvh * g + gi) * d) * 4;
        const dst = Q + <usize>(tt * g + gi) * d4;
        for (let o: usize = 0; o < d4; o += 16) {
          const x = f32x4.mul(v128.load(src + o), sc);
          big = f32x4.pmax(big, f32x4.abs(x));
          v128.store(dst + o, x);
        }
      }
    }
    // f16 keys likewise leave their 2^112 on the queries, unless that could overflow (a NaN passes either way).
    const foldK = kType == F16 && max(max(f32x4.extract_lane(big, 0), f32x4.extract_lane(big, 1)), max(f32x4.extract_lane(big, 2), f32x4.extract_lane(big, 3))) < FOLD_LIMIT;
    if (foldK) {
      const r2 = f32x4.splat(REBIAS);
      for (let o: usize = 0; o < <usize>(nt * g) * d4; o += 16) v128.store(Q + o, f32x4.mul(v128.load(Q + o), r2));
    }
    for (let r = 0; r < rows; r++) {
      store<f32>(M + <usize>(r * 4), -Infinity);
      store<f32>(L + <usize>(r * 4), 0);
      memory.fill(O + <usize>r * d4, 0, d4);
    }
    // This segment's keys: whole tiles of [0, kEnd) split evenly.
    const tiles = (kEnd + BK - 1) / BK;
    const perSeg = (tiles + nSeg - 1) / nSeg;
    const k0 = min(kEnd, seg * perSeg * BK);
    const k1 = min(kEnd, k0 + perSeg * BK);

    for (let kb = k0; kb < k1; kb += BK) {
      const nk = min(BK, k1 - kb);
      let kt = keys + <usize>kb * kRb;
      if (kType != F32) {
        convertRows(kType, kt, kRb, nk, d, KT, !foldK);
        kt = KT;
      }
      let vt = values + <usize>kb * vRb;
      if (vType != F32) {
        convertRows(vType, vt, vRb, nk, d, VT, false);
        vt = VT;
      }
      for (let r = 0; r < rows; r += 2) {
        const two = r + 1 < rows;
        const sa = S + <usize>(r * BK * 4);
        const sb = sa + <usize>(BK * 4);
        const la = min(nk, load<i32>(VIS + <usize>((r / g) * 4)) - kb);
        const lb = two ? min(nk, load<i32>(VIS + <usize>(((r + 1) / g) * 4)) - kb) : 0;
        if (la <= 0 && lb <= 0) continue;
        scoreTile(Q + <usize>r * d4, Q + <usize>(r + 1) * d4, two, kt, d4, nk, sa, sb);
        // A row with no visible key in this tile keeps its state: factor 1 and no weights.
        const ca = la > 0 ? softmaxStep(sa, la, nk, M + <usize>(r * 4), L + <usize>(r * 4), ps) : 1;
        if (la <= 0) memory.fill(sa, 0, <usize>(nk * 4));
        let cb: f32 = 1;
        if (two) {
          if (lb > 0) cb = softmaxStep(sb, lb, nk, M + <usize>((r + 1) * 4), L + <usize>((r + 1) * 4), ps);
          else memory.fill(sb, 0, <usize>(nk * 4));
        }
        weighTile(sa, sb, two, vt, d, nk, O + <usize>r * d4, O + <usize>(r + 1) * d4, ca, cb);
      }
    }

    if (nSeg > 1) {
      // Partial result: max, sum and unnormalised output of every row.
      const p = partial + <usize>(item * attentionPartialFloats(rowsMax, d) * 4);
      memory.copy(p, M, <usize>(rowsMax * 4));
      memory.copy(p + <usize>(rowsMax * 4), L, <usize>(rowsMax * 4));
      memory.copy(p + <usize>(rowsMax * 8), O, <usize>rowsMax * d4);
      continue;
    }
    for (let r = 0; r < rows; r++) {
      const l = load<f32>(L + <usize>(r * 4));
      const inv = f32x4.splat(l > 0 ? 1 / l : 0);
      const tt = r / g;
      const dst = out + <usize>((t0 + tt) * width + (kvh * g + (r % g)) * d) * 4;
      const src = O + <usize>r * d4;
      let o: usize = 0;
      for (; o < d4; o += 16) v128.store(dst + o, f32x4.mul(v128.load(src + o), inv));
    }
    if (probs != 0 || sums != 0) {
      // This item's column sums go to its own row of `sums` (one per KV head and query block); attentionSums
      // adds the blocks up, so that threads never write the same floats.
      const sumRow = sums == 0 ? 0 : sums + <usize>((kvh * nQB + qb) * maxKeys) * 4;
      writeProbs(probs, sumRow, maxKeys, nTokens, kvh, g, t0, rows, keys, kRb, kType, !foldK, d, len, kEnd, Q, KT, S, M, L, VIS);
    }
  }
}

/**
 * The second pass for presses: row r's probabilities e^(s − m) / l over its visible keys, 0 for the rest of
 * the head's length (entries past it are left untouched) into `probs` (if ≠ 0); and/or their sum over the
 * item's rows into `sumRow` [len] (if ≠ 0): what each key received from this block's queries and heads.
 */
function writeProbs(
  probs: usize,
  sumRow: usize,
  maxKeys: i32,
  nTokens: i32,
  kvh: i32,
  g: i32,
  t0: i32,
  rows: i32,
  keys: usize,
  kRb: usize,
  kType: i32,
  rebiasK: bool,
  d: i32,
  len: i32,
  kEnd: i32,
  Q: usize,
  KT: usize,
  S: usize,
  M: usize,
  L: usize,
  VIS: usize,
): void {
  const d4 = <usize>d * 4;
  const stride = maxKeys > 0 ? maxKeys : len;
  if (sumRow != 0) memory.fill(sumRow, 0, <usize>len * 4);
  for (let kb = 0; kb < kEnd; kb += BK) {
    const nk = min(BK, kEnd - kb);
    let kt = keys + <usize>kb * kRb;
    if (kType != F32) {
      convertRows(kType, kt, kRb, nk, d, KT, rebiasK);
      kt = KT;
    }
    for (let r = 0; r < rows; r += 2) {
      const two = r + 1 < rows;
      const sa = S + <usize>(r * BK * 4);
      scoreTile(Q + <usize>r * d4, Q + <usize>(r + 1) * d4, two, kt, d4, nk, sa, sa + <usize>(BK * 4));
      for (let row = r; row < r + (two ? 2 : 1); row++) {
        const s = S + <usize>(row * BK * 4);
        const lim = min(nk, load<i32>(VIS + <usize>((row / g) * 4)) - kb);
        const m = f32x4.splat(load<f32>(M + <usize>(row * 4)));
        const l = load<f32>(L + <usize>(row * 4));
        const inv = f32x4.splat(l > 0 ? 1 / l : 0);
        const h = kvh * g + (row % g);
        const dst = probs + <usize>(((h * nTokens + t0 + row / g) * stride + kb) * 4);
        const acc = sumRow + <usize>(kb * 4);
        for (let j = 0; j < nk; j += 4) {
          const e = v128.and(f32x4.mul(expNeg(f32x4.sub(v128.load(s + <usize>(j * 4)), m)), inv), below(j, lim));
          if (j + 4 <= nk) {
            if (probs != 0) v128.store(dst + <usize>(j * 4), e);
            if (sumRow != 0) v128.store(acc + <usize>(j * 4), f32x4.add(v128.load(acc + <usize>(j * 4)), e));
          } else {
            for (let x = 0; x < nk - j; x++) {
              if (probs != 0) store<f32>(dst + <usize>((j + x) * 4), lane(e, x));
              if (sumRow != 0) store<f32>(acc + <usize>((j + x) * 4), load<f32>(acc + <usize>((j + x) * 4)) + lane(e, x));
            }
          }
        }
      }
    }
  }
  if (probs == 0) return;
  // Keys past every row's visible prefix, up to the head's length (entries past it stay untouched).
  for (let r = 0; r < rows; r++) {
    const h = kvh * g + (r % g);
    const row = probs + <usize>((h * nTokens + t0 + r / g) * stride) * 4;
    if (len > kEnd) memory.fill(row + <usize>(kEnd * 4), 0, <usize>((len - kEnd) * 4));
  }
}

/**
 * Adds up the per-block column sums the attention items wrote (`[nKv][nQB][maxKeys]`, each row's first
 * `len` entries) into `out` `[nKv][maxKeys]` (each head's first len entries; the rest untouched).
 */
export function attentionSums(out: usize, sums: usize, kv: usize, nKv: i32, nQB: i32, maxKeys: i32): void {
  for (let kvh = 0; kvh < nKv; kvh++) {
    const len = load<i32>(kv + <usize>(kvh * 16), 12);
    const dst = out + <usize>(kvh * maxKeys) * 4;
    memory.fill(dst, 0, <usize>len * 4);
    for (let qb = 0; qb < nQB; qb++) {
      const src = sums + <usize>((kvh * nQB + qb) * maxKeys) * 4;
      let j = 0;
      for (; j + 4 <= len; j += 4) {
        const o = <usize>(j * 4);
        v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
      }
      for (; j < len; j++) store<f32>(dst + <usize>(j * 4), load<f32>(dst + <usize>(j * 4)) + load<f32>(src + <usize>(j * 4)));
    }
  }
}

/** Lane x (0..3, not a constant) of an f32x4. */
// @ts-ignore: decorator
@inline function lane(v: v128, x: i32): f32 {
  if (x == 0) return f32x4.extract_lane(v, 0);
  if (x == 1) return f32x4.extract_lane(v, 1);
  if (x == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

/**
 * Combines the nSeg partial results of every (KV head, query block) into normalised outputs: with
 * m = max_s m_s, o = Σ_s e^(m_s − m) o_s / Σ_s e^(m_s − m) l_s (FlashDecoding's reduction).
 */
export function attentionMerge(out: usize, partial: usize, nTokens: i32, nHeads: i32, d: i32, nKv: i32, bq: i32, nSeg: i32): void {
  const g = nHeads / nKv;
  const nQB = (nTokens + bq - 1) / bq;
  const rowsMax = bq * g;
  const pf = attentionPartialFloats(rowsMax, d);
  const width = nHeads * d;
  const d4 = <usize>d * 4;
  for (let kvh = 0; kvh < nKv; kvh++) {
    for (let qb = 0; qb < nQB; qb++) {
      const t0 = qb * bq;
      const nt = min(bq, nTokens - t0);
      const base = partial + <usize>((kvh * nQB + qb) * nSeg * pf * 4);
      for (let r = 0; r < nt * g; r++) {
        let m: f32 = -Infinity;
        for (let s = 0; s < nSeg; s++) m = max(m, load<f32>(base + <usize>((s * pf + r) * 4)));
        const dst = out + <usize>((t0 + r / g) * width + (kvh * g + (r % g)) * d) * 4;
        memory.fill(dst, 0, d4);
        if (m == -Infinity) continue;
        let l: f32 = 0;
        for (let s = 0; s < nSeg; s++) {
          const p = base + <usize>(s * pf * 4);
          const ms = load<f32>(p + <usize>(r * 4));
          if (ms == -Infinity) continue;
          const w = Mathf.exp(ms - m);
          l += w * load<f32>(p + <usize>((rowsMax + r) * 4));
          const o = p + <usize>((2 * rowsMax) * 4) + <usize>r * d4;
          const wv = f32x4.splat(w);
          for (let c: usize = 0; c < d4; c += 16) v128.store(dst + c, madd(wv, v128.load(o + c), v128.load(dst + c)));
        }
        const inv = f32x4.splat(l > 0 ? 1 / l : 0);
        for (let c: usize = 0; c < d4; c += 16) v128.store(dst + c, f32x4.mul(v128.load(dst + c), inv));
      }
    }
  }
}
