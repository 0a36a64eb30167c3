// Element-wise steps of the forward pass that cost real time at long prompts: SwiGLU's SiLU(gate) · up runs
// over tokens × ffnDim values per layer (377 M exponentials for an 8k prompt of SmolLM2-135M), too many for
// Math.exp one at a time.
import { madd } from './simd';

const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;

/**
 * e^x for any x: 2^n · 2^f with n = round(x·log2 e) and a degree-6 Taylor polynomial for 2^f on |f| ≤ 1/2
 * (relative error ~1e-7); the argument is clamped to [-87, 88] so that 2^n stays a normal float.
 */
// @ts-ignore: decorator
@inline function expf4(x: v128): v128 {
  const c = f32x4.min(f32x4.max(x, f32x4.splat(-87)), f32x4.splat(88));
  const t = f32x4.mul(c, f32x4.splat(LOG2E));
  const n = f32x4.nearest(t);
  const f = f32x4.mul(f32x4.sub(t, n), f32x4.splat(LN2));
  let p = madd(f, f32x4.splat(1.0 / 720), f32x4.splat(1.0 / 120));
  p = madd(f, p, f32x4.splat(1.0 / 24));
  p = madd(f, p, f32x4.splat(1.0 / 6));
  p = madd(f, p, f32x4.splat(0.5));
  p = madd(f, p, f32x4.splat(1));
  p = madd(f, p, f32x4.splat(1));
  // The clamp keeps n in [-126, 127], so 2^n is a normal float built from its exponent bits.
  return f32x4.mul(p, i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23));
}

/** gate[i] = gate[i] / (1 + e^-gate[i]) · up[i] for i in [i0, i1) (f32; i0, i1 multiples of 4 except the end). */
export function swiglu(gate: usize, up: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i * 4;
    const g = v128.load(gate + o);
    const e = expf4(f32x4.neg(g));
    v128.store(gate + o, f32x4.mul(f32x4.div(g, f32x4.add(f32x4.splat(1), e)), v128.load(up + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i * 4;
    const g = load<f32>(gate + o);
    store<f32>(gate + o, (g / (1 + Mathf.exp(-g))) * load<f32>(up + o));
  }
}
