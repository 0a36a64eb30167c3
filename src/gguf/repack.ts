// Exact re-encodings of weight blocks into a type whose kernels run faster. Q5_0 holds x = d·(q − 16) with a
// 5-bit q whose fifth bits sit apart (qh); Q8_0 holds x = d·q with an 8-bit q. Every Q5_0 block is therefore a
// Q8_0 block with the same f16 scale and q − 16 ∈ [−16, 15]: the values do not change, only the bytes grow
// 22 → 34 per 32 weights. What it buys: a single-token Q5_0 matmul is bound by the instructions that
// gather those fifth bits (~8.5 GB/s of weights a thread), Q8_0's by memory (bench/kernels.ts).
import { GgmlType, type GgufTensorInfo } from './types.js';

const Q5_0_BYTES = 22;
const Q8_0_BYTES = 34;

/** Bytes a tensor takes once loaded, with or without repacking (Q5_0 → Q8_0). */
export function loadedBytes(t: Pick<GgufTensorInfo, 'type' | 'bytes'>, repack: boolean): number {
  return repack && t.type === GgmlType.Q5_0 ? (t.bytes / Q5_0_BYTES) * Q8_0_BYTES : t.bytes;
}

/** Q5_0 blocks `src` as Q8_0 blocks into `dst` (34 bytes a block), value for value. */
export function q5_0ToQ8_0(src: Uint8Array, dst: Uint8Array): void {
  const nb = src.length / Q5_0_BYTES;
  if (!Number.isInteger(nb) || dst.length < nb * Q8_0_BYTES)
    throw new RangeError(
      `q5_0ToQ8_0: ${src.length} bytes are not whole Q5_0 blocks, or ${dst.length} too few`,
    );
  for (let i = 0; i < nb; i++) {
    const s = i * Q5_0_BYTES;
    const o = i * Q8_0_BYTES;
    dst[o] = src[s];
    dst[o + 1] = src[s + 1];
    const qh = (src[s + 2] | (src[s + 3] << 8) | (src[s + 4] << 16) | (src[s + 5] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[s + 6 + j];
      // Stored as bytes: the signed q − 16 in two's complement.
      dst[o + 2 + j] = ((q & 15) | (((qh >>> j) & 1) << 4)) - 16;
      dst[o + 18 + j] = ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
    }
  }
}
