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

/** Decoded-row families: f32 values; u7 values with a scale and a min per 32 or per 16; i8 per 32. */
export const FAM_F: i32 = 0;
export const FAM_G32: i32 = 1;
export const FAM_G16: i32 = 2;
export const FAM_S32: i32 = 3;
export const FAM_NONE: i32 = -1;

export function family(type: i32): i32 {
  if (type == F32 || type == F16 || type == BF16) return FAM_F;
  if (type == Q8_0) return FAM_S32;
  if (type == Q6_K) return FAM_G16;
  if (type == Q4_0 || type == Q4_1 || type == Q5_0 || type == Q5_1 || type == Q4_K || type == Q5_K) {
    return FAM_G32;
  }
  return FAM_NONE;
}

/** Elements per scale group of a decoded integer row. */
// @ts-ignore: decorator
@inline export function groupSize(fam: i32): i32 {
  return fam == FAM_G16 ? 16 : 32;
}

/** Bytes of a decoded integer row's values: u8 values, or for FAM_S32 |w| then the sign masks. */
// @ts-ignore: decorator
@inline export function valueBytes(fam: i32, cols: i32): i32 {
  return fam == FAM_S32 ? 2 * cols : cols;
}

/**
 * Bytes of one decoded row: f32 values, or integer values followed by a splatted v128 scale and an f32
 * min per group (see decode.ts). Multiple of 64.
 */
export function decodedStride(type: i32, cols: i32): i32 {
  const fam = family(type);
  if (fam == FAM_F) return (cols * 4 + 63) & ~63;
  const groups = cols / groupSize(fam);
  return (valueBytes(fam, cols) + 20 * groups + 63) & ~63;
}
