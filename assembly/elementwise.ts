// Element-wise steps of the forward pass that cost real time at long prompts: SwiGLU's SiLU(gate) · up runs
// over tokens × ffnDim values per layer (377 M exponentials for an 8k prompt of SmolLM2-135M), too many for
// Math.exp one at a time.
import { expInRange } from './simd';

/** gate[i] = gate[i] / (1 + e^-gate[i]) · up[i] for i in [i0, i1) (f32; i0, i1 multiples of 4 except the end). */
export function swiglu(gate: usize, up: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i * 4;
    const g = v128.load(gate + o);
    // Clamped so that e^-g stays finite and normal; past the clamp SiLU is 0 or g to float precision anyway.
    // pmax/pmin with the value first are one instruction each and pass a NaN through.
    const e = expInRange(f32x4.pmin(f32x4.pmax(f32x4.neg(g), f32x4.splat(-87)), f32x4.splat(88)));
    v128.store(gate + o, f32x4.mul(f32x4.div(g, f32x4.add(f32x4.splat(1), e)), v128.load(up + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i * 4;
    const g = load<f32>(gate + o);
    store<f32>(gate + o, (g / (1 + Mathf.exp(-g))) * load<f32>(up + o));
  }
}
