// Scalar conversions between f32 and the 16-bit float formats stored in GGUF files (ggml-impl.h:
// ggml_compute_fp32_to_fp16 / ggml_compute_fp16_to_fp32 and ggml_compute_fp32_to_bf16 / _bf16_to_fp32).

// One 4-byte scratch cell shared by the bit-level conversions below.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal: mant × 2^-24
  if (exp === 31) return mant === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25); // (1 + mant/1024) × 2^(exp-15)
}

/** f16 bits → f32 value for every one of the 65536 halves (ggml keeps the same 256 KiB table). */
export const F16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32(h);
  return t;
})();

export function f16ToF32(h: number): number {
  return F16_TABLE[h & 0xffff];
}

/**
 * f32 → f16 bits, rounding to nearest even like ggml's ggml_compute_fp32_to_fp16 (and F16C's vcvtps2ph):
 * overflow gives ±inf, tiny values become subnormals or ±0, NaN becomes sign | 0x7E00.
 * The argument is first rounded to f32, since ggml converts f32 values.
 */
export function f32ToF16(f: number): number {
  scratchF32[0] = f;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 127 + 15; // f16 biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal result: value / 2^-24 = (mant | implicit 1) >> (14 - e), rounded to nearest even.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal (2^-25): rounds to zero
    const m = exp === 0 ? mant : mant | 0x800000;
    return sign | roundShift(m, shift);
  }
  // Normal result: keep 10 mantissa bits; a carry out of the mantissa correctly bumps the exponent (to inf).
  const r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (rem > 0x1000 || (rem === 0x1000 && r & 1) ? r + 1 : r);
}

/** m >> shift with round-to-nearest-even on the dropped bits (1 ≤ shift ≤ 24). */
function roundShift(m: number, shift: number): number {
  const r = m >>> shift;
  const rem = m - r * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rem > half || (rem === half && r & 1) ? r + 1 : r;
}

export function bf16ToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

/** f32 → bf16 bits as ggml_compute_fp32_to_bf16: round to nearest even, NaN kept (high half) and forced quiet. */
export function f32ToBf16(f: number): number {
  scratchF32[0] = f;
  const bits = scratchU32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 64) & 0xffff;
  // Overflowing the exponent rounds up to ±inf, as in ggml; the sum cannot pass 2^32 for non-NaN input.
  return Math.floor((bits + 0x7fff + ((bits >>> 16) & 1)) / 65536) & 0xffff;
}
