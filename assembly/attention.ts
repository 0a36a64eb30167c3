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

function dot(a: usize, b: usize, n: i32): f32 {
  let c0 = f32x4.splat(0);
  let c1 = c0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>(i * 4);
    c0 = madd(v128.load(a + o), v128.load(b + o), c0);
    c1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), c1);
  }
  if (i < n) c0 = madd(v128.load(a + <usize>(i * 4)), v128.load(b + <usize>(i * 4)), c0);
  return hsum(f32x4.add(c0, c1));
}

/**
 * Items [i0, i1) of `nHeads × nTokens` (item = h·nTokens + t). `kv` holds i32 {keys, values, positions,
 * length} per KV head; `scores` is this thread's f32 scratch of at least the longest KV length.
 * headDim must be a multiple of 4. probs (0 = none) is f32 `[nHeads][nTokens][maxKeys]`; maxKeys 0 means
 * each head's own length.
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
  i0: i32,
  i1: i32,
): void {
  const group = nHeads / nKv;
  const width = nHeads * headDim;
  const hd4 = <usize>headDim * 4;
  for (let item = i0; item < i1; item++) {
    const h = item / nTokens;
    const t = item - h * nTokens;
    const desc = kv + <usize>((h / group) * 16);
    const keys = <usize>load<i32>(desc);
    const values = <usize>load<i32>(desc, 4);
    const len = load<i32>(desc, 12);
    const visible = visiblePrefix(<usize>load<i32>(desc, 8), len, load<i32>(qpos + <usize>(t * 4)));
    const qv = q + <usize>(t * width + h * headDim) * 4;
    const ov = out + <usize>(t * width + h * headDim) * 4;
    let mx = -Infinity as f32;
    for (let j = 0; j < visible; j++) {
      const s = dot(qv, keys + <usize>j * hd4, headDim) * scale;
      store<f32>(scores + <usize>(j * 4), s);
      mx = max(mx, s);
    }
    let sum: f32 = 0;
    for (let j = 0; j < visible; j++) {
      const e = Mathf.exp(load<f32>(scores + <usize>(j * 4)) - mx);
      store<f32>(scores + <usize>(j * 4), e);
      sum += e;
    }
    const inv: f32 = visible > 0 ? 1 / sum : 0;
    for (let j = 0; j < visible; j++)
      store<f32>(scores + <usize>(j * 4), load<f32>(scores + <usize>(j * 4)) * inv);
    // Output in slices of 16 lanes so the accumulators stay in registers across all keys.
    let d = 0;
    for (; d + 16 <= headDim; d += 16) {
      let o0 = f32x4.splat(0);
      let o1 = o0;
      let o2 = o0;
      let o3 = o0;
      const vd = values + <usize>(d * 4);
      for (let j = 0; j < visible; j++) {
        const p = v128.load32_splat(scores + <usize>(j * 4));
        const v = vd + <usize>j * hd4;
        o0 = madd(p, v128.load(v), o0);
        o1 = madd(p, v128.load(v, 16), o1);
        o2 = madd(p, v128.load(v, 32), o2);
        o3 = madd(p, v128.load(v, 48), o3);
      }
      const od = ov + <usize>(d * 4);
      v128.store(od, o0);
      v128.store(od, o1, 16);
      v128.store(od, o2, 32);
      v128.store(od, o3, 48);
    }
    for (; d < headDim; d += 4) {
      let o0 = f32x4.splat(0);
      const vd = values + <usize>(d * 4);
      for (let j = 0; j < visible; j++) {
        o0 = madd(v128.load32_splat(scores + <usize>(j * 4)), v128.load(vd + <usize>j * hd4), o0);
      }
      v128.store(ov + <usize>(d * 4), o0);
    }
    if (probs != 0) {
      // Without maxKeys each head's rows are as long as its own cache, as in the reference.
      const row = probs + <usize>(item * (maxKeys > 0 ? maxKeys : len)) * 4;
      memory.copy(row, scores, <usize>visible * 4);
      memory.fill(row + <usize>visible * 4, 0, <usize>(len - visible) * 4);
    }
  }
}
