// ggml type ids (ggml.h) and how each is laid out once decoded into a thread's scratch rows.

export const F32: i32 = 0;
export const F16: i32 = 1;
export const Q4_0: i32 = 2;
export const Q4_1: i32 = 3;
export const Q5_0: i32 = 6;
export const Q5_1: i32 = 7;
export const Q8_0: i32 = 8;
export const Q4_K: i32 = 12;
export const Q5_K: i32 = 13;
export const Q6_K: i32 = 14;
export const BF16: i32 = 30;

/**
 * Decoded-row families (decode.ts): f32 values; unsigned values with a float scale and min per 32; K-quant
 * values with integer group scales per super-block; Q8_0's |w| and signs.
 */
export const FAM_F: i32 = 0;
export const FAM_G32: i32 = 1;
export const FAM_K: i32 = 2;
export const FAM_S32: i32 = 3;
export const FAM_NONE: i32 = -1;

export function family(type: i32): i32 {
  if (type == F32 || type == F16 || type == BF16) return FAM_F;
  if (type == Q8_0) return FAM_S32;
  if (type == Q4_K || type == Q5_K || type == Q6_K) return FAM_K;
  if (type == Q4_0 || type == Q4_1 || type == Q5_0 || type == Q5_1) return FAM_G32;
  return FAM_NONE;
}

/** Scale groups per row of a FAM_K type: 32 values each, Q6_K 16. */
// @ts-ignore: decorator
@inline export function kGroups(type: i32, cols: i32): i32 {
  return type == Q6_K ? cols >> 4 : cols >> 5;
}

/** Bytes of a decoded integer row's values: u8 values, or for FAM_S32 |w| then the sign masks. */
// @ts-ignore: decorator
@inline export function valueBytes(fam: i32, cols: i32): i32 {
  return fam == FAM_S32 ? 2 * cols : cols;
}

/** Bytes of one decoded row (layouts in decode.ts), a multiple of 64. */
export function decodedStride(type: i32, cols: i32): i32 {
  const fam = family(type);
  if (fam == FAM_F) return (cols * 4 + 63) & ~63;
  if (fam == FAM_K) return (cols + 16 * kGroups(type, cols) + 40 * (cols >> 8) + 63) & ~63;
  return (valueBytes(fam, cols) + 20 * (cols >> 5) + 63) & ~63;
}
