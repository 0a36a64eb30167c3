// Causal GQA attention, one (head, token) item at a time: scores for the visible prefix of the KV head,
// a max-subtracted softmax, then the probability-weighted sum of values. Two passes over the keys keep the
// arithmetic identical to the reference and give the probabilities for free when a press asks for them.
import { hsum, madd } from './simd';

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

/** q · k over n floats (n a multiple of 4), with two accumulators against the FMA latency. */
// @ts-ignore: decorator
@inline function dot4(q: usize, k: usize, n: i32): v128 {
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>(i * 4);
    c0 = madd(v128.load(q + o), v128.load(k + o), c0);
    c1 = madd(v128.load(q + o, 16), v128.load(k + o, 16), c1);
  }
  if (i < n) c0 = madd(v128.load(q + <usize>(i * 4)), v128.load(k + <usize>(i * 4)), c0);
  return f32x4.add(c0, c1);
}

/** Lane sums of four vectors, as one vector [Σa, Σb, Σc, Σd]. */
// @ts-ignore: decorator
@inline function sum4x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;

/**
 * e^x for x ≤ 0 (softmax arguments after the max is subtracted): 2^n · 2^f with n = round(x·log2 e) and a
 * degree-6 Taylor polynomial for 2^f on |f| ≤ 1/2 (relative error ~1e-7). Below -87 the result is 0
 * rather than a subnormal.
 */
// @ts-ignore: decorator
@inline function expNeg(x: v128): v128 {
  const t = f32x4.mul(x, f32x4.splat(LOG2E));
  const n = f32x4.nearest(t);
  const f = f32x4.mul(f32x4.sub(t, n), f32x4.splat(LN2));
  let p = madd(f, f32x4.splat(1.0 / 720), f32x4.splat(1.0 / 120));
  p = madd(f, p, f32x4.splat(1.0 / 24));
  p = madd(f, p, f32x4.splat(1.0 / 6));
  p = madd(f, p, f32x4.splat(0.5));
  p = madd(f, p, f32x4.splat(1));
  p = madd(f, p, f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(p, scale), f32x4.ge(x, f32x4.splat(-87)));
}

/** Scaled scores of keys [0, n) for one query, f32 at `sc`; four keys at a time, then the tail. */
// @ts-ignore: decorator
@inline function scoreKeys(qv: usize, keys: usize, hd4: usize, headDim: i32, n: i32, scale: f32, sc: usize): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const k = keys + <usize>j * hd4;
    const d0 = dot4(qv, k, headDim);
    const d1 = dot4(qv, k + hd4, headDim);
    const d2 = dot4(qv, k + 2 * hd4, headDim);
    const d3 = dot4(qv, k + 3 * hd4, headDim);
    v128.store(sc + <usize>(j * 4), f32x4.mul(sum4x4(d0, d1, d2, d3), f32x4.splat(scale)));
  }
  for (; j < n; j++) store<f32>(sc + <usize>(j * 4), hsum(dot4(qv, keys + <usize>j * hd4, headDim)) * scale);
}

/** Scores → softmax probabilities in place (n ≥ 1; the buffer has room for n rounded up to 4). */
function softmax(sc: usize, n: i32): void {
  let mx4 = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) mx4 = f32x4.max(mx4, v128.load(sc + <usize>(j * 4)));
  mx4 = f32x4.max(mx4, i32x4.shuffle(mx4, mx4, 2, 3, 0, 1));
  let mx = max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1));
  for (; j < n; j++) mx = max(mx, load<f32>(sc + <usize>(j * 4)));
  // Exponentials four at a time; the last group's lanes past n are masked out of the sum.
  const mxv = f32x4.splat(mx);
  let sum4 = f32x4.splat(0);
  for (j = 0; j < n; j += 4) {
    const p = sc + <usize>(j * 4);
    let e = expNeg(f32x4.sub(v128.load(p), mxv));
    if (j + 4 > n) e = v128.and(e, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n - j)));
    v128.store(p, e);
    sum4 = f32x4.add(sum4, e);
  }
  const inv = f32x4.splat(1 / hsum(sum4));
  for (j = 0; j < n; j += 4) v128.store(sc + <usize>(j * 4), f32x4.mul(v128.load(sc + <usize>(j * 4)), inv));
}

/** out[d, d+16) = Σ_k p_k · V[k][d, d+16), accumulators in registers across all keys. */
// @ts-ignore: decorator
@inline function weighValues16(p: usize, vd: usize, hd4: usize, n: i32, od: usize): void {
  let o0 = f32x4.splat(0);
  let o1 = o0;
  let o2 = o0;
  let o3 = o0;
  for (let k = 0; k < n; k++) {
    const w = v128.load32_splat(p + <usize>(k * 4));
    const v = vd + <usize>k * hd4;
    o0 = madd(w, v128.load(v), o0);
    o1 = madd(w, v128.load(v, 16), o1);
    o2 = madd(w, v128.load(v, 32), o2);
    o3 = madd(w, v128.load(v, 48), o3);
  }
  v128.store(od, o0);
  v128.store(od, o1, 16);
  v128.store(od, o2, 32);
  v128.store(od, o3, 48);
}

/**
 * Scaled scores of keys [0, n) for two query heads of the same KV head: each key vector loaded feeds both
 * heads (four keys × two heads of accumulators), halving the loads per multiply-add.
 */
function scoreKeys2(q0: usize, q1: usize, keys: usize, hd4: usize, headDim: i32, n: i32, scale: f32, s0: usize, s1: usize): void {
  const sc = f32x4.splat(scale);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const k = keys + <usize>j * hd4;
    let a0 = f32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let b0 = a0;
    let b1 = a0;
    let b2 = a0;
    let b3 = a0;
    for (let o: usize = 0; o < hd4; o += 16) {
      const k0 = v128.load(k + o);
      const k1 = v128.load(k + hd4 + o);
      const k2 = v128.load(k + 2 * hd4 + o);
      const k3 = v128.load(k + 3 * hd4 + o);
      const x = v128.load(q0 + o);
      a0 = madd(x, k0, a0);
      a1 = madd(x, k1, a1);
      a2 = madd(x, k2, a2);
      a3 = madd(x, k3, a3);
      const y = v128.load(q1 + o);
      b0 = madd(y, k0, b0);
      b1 = madd(y, k1, b1);
      b2 = madd(y, k2, b2);
      b3 = madd(y, k3, b3);
    }
    v128.store(s0 + <usize>(j * 4), f32x4.mul(sum4x4(a0, a1, a2, a3), sc));
    v128.store(s1 + <usize>(j * 4), f32x4.mul(sum4x4(b0, b1, b2, b3), sc));
  }
  for (; j < n; j++) {
    const k = keys + <usize>j * hd4;
    store<f32>(s0 + <usize>(j * 4), hsum(dot4(q0, k, headDim)) * scale);
    store<f32>(s1 + <usize>(j * 4), hsum(dot4(q1, k, headDim)) * scale);
  }
}

/** Two heads' outputs over lanes [d, d+16): each value vector loaded feeds both heads. */
function weighValues2(p0: usize, p1: usize, vd: usize, hd4: usize, n: i32, o0: usize, o1: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let b0 = a0;
  let b1 = a0;
  let b2 = a0;
  let b3 = a0;
  for (let k = 0; k < n; k++) {
    const v = vd + <usize>k * hd4;
    const v0 = v128.load(v);
    const v1 = v128.load(v, 16);
    const v2 = v128.load(v, 32);
    const v3 = v128.load(v, 48);
    const x = v128.load32_splat(p0 + <usize>(k * 4));
    a0 = madd(x, v0, a0);
    a1 = madd(x, v1, a1);
    a2 = madd(x, v2, a2);
    a3 = madd(x, v3, a3);
    const y = v128.load32_splat(p1 + <usize>(k * 4));
    b0 = madd(y, v0, b0);
    b1 = madd(y, v1, b1);
    b2 = madd(y, v2, b2);
    b3 = madd(y, v3, b3);
  }
  v128.store(o0, a0);
  v128.store(o0, a1, 16);
  v128.store(o0, a2, 32);
  v128.store(o0, a3, 48);
  v128.store(o1, b0);
  v128.store(o1, b1, 16);
  v128.store(o1, b2, 32);
  v128.store(o1, b3, 48);
}

/** Lanes [d, d+4) of one head's output, for head sizes that are not a multiple of 16. */
// @ts-ignore: decorator
@inline function weighValues4(p: usize, vd: usize, hd4: usize, n: i32, od: usize): void {
  let o = f32x4.splat(0);
  for (let k = 0; k < n; k++) o = madd(v128.load32_splat(p + <usize>(k * 4)), v128.load(vd + <usize>k * hd4), o);
  v128.store(od, o);
}

/**
 * Items [i0, i1) of nKv × ⌈group/2⌉ × nTokens (KV head major): each item is one token and two query heads
 * of one KV head (one head for the last of an odd group), so that each key and value vector loaded serves
 * both. `kv` holds i32 {keys, values, positions, length} per KV head; `scores` is this thread's scratch:
 * two runs of `scoreStride` bytes (≥ the longest KV length rounded up to 4 floats). headDim must be a
 * multiple of 4. probs (0 = none) is f32 `[nHeads][nTokens][maxKeys]`; maxKeys 0 means each head's own
 * length.
 */
export function attention(
  out: usize,
  q: usize,
  nTokens: i32,
  nHeads: i32,
  headDim: i32,
  qpos: usize,
  kv: usize,
  nKv: i32,
  scale: f32,
  probs: usize,
  maxKeys: i32,
  scores: usize,
  scoreStride: i32,
  i0: i32,
  i1: i32,
): void {
  const group = nHeads / nKv;
  const pairs = (group + 1) >> 1;
  const width = nHeads * headDim;
  const hd4 = <usize>headDim * 4;
  const s0 = scores;
  const s1 = scores + <usize>scoreStride;
  for (let item = i0; item < i1; item++) {
    const t = item % nTokens;
    const rest = item / nTokens;
    const pair = rest % pairs;
    const kvh = rest / pairs;
    const h = kvh * group + 2 * pair;
    const two = 2 * pair + 1 < group;
    const desc = kv + <usize>(kvh * 16);
    const keys = <usize>load<i32>(desc);
    const values = <usize>load<i32>(desc, 4);
    const len = load<i32>(desc, 12);
    const visible = visiblePrefix(<usize>load<i32>(desc, 8), len, load<i32>(qpos + <usize>(t * 4)));
    const qv = q + <usize>(t * width + h * headDim) * 4;
    const ov = out + <usize>(t * width + h * headDim) * 4;
    if (two) scoreKeys2(qv, qv + hd4, keys, hd4, headDim, visible, scale, s0, s1);
    else scoreKeys(qv, keys, hd4, headDim, visible, scale, s0);
    if (visible > 0) {
      softmax(s0, visible);
      if (two) softmax(s1, visible);
    }
    let d = 0;
    for (; d + 16 <= headDim; d += 16) {
      const vd = values + <usize>(d * 4);
      const od = ov + <usize>(d * 4);
      if (two) weighValues2(s0, s1, vd, hd4, visible, od, od + hd4);
      else weighValues16(s0, vd, hd4, visible, od);
    }
    for (; d < headDim; d += 4) {
      const vd = values + <usize>(d * 4);
      const od = ov + <usize>(d * 4);
      weighValues4(s0, vd, hd4, visible, od);
      if (two) weighValues4(s1, vd, hd4, visible, od + hd4);
    }
    if (probs != 0) {
      // Without maxKeys each head's rows are as long as its own cache, as in the reference.
      const stride = maxKeys > 0 ? maxKeys : len;
      const heads = two ? 2 : 1;
      for (let g = 0; g < heads; g++) {
        const row = probs + <usize>(((h + g) * nTokens + t) * stride) * 4;
        memory.copy(row, g == 0 ? s0 : s1, <usize>visible * 4);
        memory.fill(row + <usize>visible * 4, 0, <usize>(len - visible) * 4);
      }
    }
  }
}
