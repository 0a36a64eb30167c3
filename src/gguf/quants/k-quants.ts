// The 256-element K-quant super-blocks (ggml-common.h, QK_K = 256) and reference quantizers following
// ggml-quants.c's quantize_row_q4_K_ref / quantize_row_q5_K_ref / quantize_row_q6_K_ref. Their arithmetic is
// rounded to f32 in the C order (here and in k-search.ts), which reproduces llama.cpp's blocks bit for bit
// (test/gguf/quant-reference.test.ts compares against llama.cpp's own output).
//   Q4_K (144 B): d f16 @0, dmin f16 @2, scales[12] @4, qs[128] @16
//   Q5_K (176 B): d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
//   Q6_K (210 B): ql[128] @0, qh[64] @128, scales[16] int8 @192, d f16 @208
// Q4_K/Q5_K: eight 32-element sub-blocks j, each with a 6-bit scale sc_j and min m_j (get_scale_min_k4):
//   j < 4:  sc = scales[j] & 63,                               m = scales[j+4] & 63
//   j >= 4: sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4,  m = (scales[j+4] >> 4) | (scales[j] >> 6) << 4
// and x = d·sc_j·q - dmin·m_j. Sub-blocks 2c and 2c+1 share bytes qs[32c..32c+32): low then high nibbles;
// Q5_K's fifth bit of element l in sub-block k is bit k of qh[l].
// Q6_K: sixteen 16-element sub-blocks with int8 scales; x = d·scales[k]·(q - 32), q a 6-bit value whose low
// nibble is in ql and high two bits in qh (layout in dequantQ6_K).
import { F16_TABLE, f32ToF16 } from './float.js';
import { type AffineFit, GROUP_MAX_EPS, makeQkx2Quants, makeQxQuants, nearestInt } from './k-search.js';

const QK_K = 256;

function f16At(src: Uint8Array, o: number): number {
  return F16_TABLE[src[o] | (src[o + 1] << 8)];
}

/** Stores v as f16 at dst[o..o+2) and returns the value the f16 actually holds. */
function putF16(dst: Uint8Array, o: number, v: number): number {
  const h = f32ToF16(v);
  dst[o] = h & 0xff;
  dst[o + 1] = h >> 8;
  return F16_TABLE[h];
}

/** Unpacks get_scale_min_k4 for all eight sub-blocks of the 12 bytes at src[o..o+12). */
function unpackScaleMin(src: Uint8Array, o: number, sc: Uint8Array, m: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    sc[j] = src[o + j] & 63;
    m[j] = src[o + j + 4] & 63;
  }
  for (let j = 4; j < 8; j++) {
    sc[j] = (src[o + j + 4] & 15) | ((src[o + j - 4] >> 6) << 4);
    m[j] = (src[o + j + 4] >> 4) | ((src[o + j] >> 6) << 4);
  }
}

/** Inverse of unpackScaleMin (the packing in quantize_row_q4_K_ref). */
function packScaleMin(dst: Uint8Array, o: number, sc: Uint8Array, m: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    dst[o + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    dst[o + j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
    dst[o + j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
}

const scBuf = new Uint8Array(8);
const mBuf = new Uint8Array(8);

export function dequantQ4_K(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 144, y += QK_K) {
    const d = f16At(src, s);
    const dmin = f16At(src, s + 2);
    unpackScaleMin(src, s + 4, scBuf, mBuf);
    for (let c = 0; c < 4; c++) {
      const d1 = d * scBuf[2 * c];
      const m1 = dmin * mBuf[2 * c];
      const d2 = d * scBuf[2 * c + 1];
      const m2 = dmin * mBuf[2 * c + 1];
      const q = s + 16 + 32 * c;
      const yo = y + 64 * c;
      for (let l = 0; l < 32; l++) {
        dst[yo + l] = d1 * (src[q + l] & 15) - m1;
        dst[yo + 32 + l] = d2 * (src[q + l] >> 4) - m2;
      }
    }
  }
}

export function dequantQ5_K(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 176, y += QK_K) {
    const d = f16At(src, s);
    const dmin = f16At(src, s + 2);
    unpackScaleMin(src, s + 4, scBuf, mBuf);
    const qh = s + 16;
    for (let c = 0; c < 4; c++) {
      const d1 = d * scBuf[2 * c];
      const m1 = dmin * mBuf[2 * c];
      const d2 = d * scBuf[2 * c + 1];
      const m2 = dmin * mBuf[2 * c + 1];
      const ql = s + 48 + 32 * c;
      const yo = y + 64 * c;
      for (let l = 0; l < 32; l++) {
        const h = src[qh + l] >> (2 * c);
        dst[yo + l] = d1 * ((src[ql + l] & 15) | ((h & 1) << 4)) - m1;
        dst[yo + 32 + l] = d2 * ((src[ql + l] >> 4) | ((h & 2) << 3)) - m2;
      }
    }
  }
}

export function dequantQ6_K(src: Uint8Array, dst: Float32Array, nb: number): void {
  for (let i = 0, s = 0, y = 0; i < nb; i++, s += 210, y += QK_K) {
    const d = f16At(src, s + 208);
    for (let half = 0; half < 2; half++) {
      const ql = s + 64 * half;
      const qh = s + 128 + 32 * half;
      const sc = s + 192 + 8 * half;
      const yo = y + 128 * half;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const a = src[ql + l];
        const b = src[ql + l + 32];
        dst[yo + l] = d * ((src[sc + is] << 24) >> 24) * (((a & 15) | ((h & 3) << 4)) - 32);
        dst[yo + l + 32] = d * ((src[sc + is + 2] << 24) >> 24) * (((b & 15) | (((h >> 2) & 3) << 4)) - 32);
        dst[yo + l + 64] = d * ((src[sc + is + 4] << 24) >> 24) * (((a >> 4) | (((h >> 4) & 3) << 4)) - 32);
        dst[yo + l + 96] = d * ((src[sc + is + 6] << 24) >> 24) * (((b >> 4) | ((h >> 6) << 4)) - 32);
      }
    }
  }
}

const L = new Uint8Array(QK_K);
const aux = new Uint8Array(32);
// f32 scratch, so that stores round like the C code's float locals.
const weights = new Float32Array(32);
const scales = new Float32Array(16);
const mins = new Float32Array(8);
const fr = Math.fround;
const fit: AffineFit = { scale: 0, min: 0 };

/**
 * quantize_row_q4_K_ref / quantize_row_q5_K_ref for one super-block at x[xo..xo+256): fits each sub-block with
 * make_qkx2_quants (weights av_x + |x|), quantizes the scales and mins to 6 bits against the largest,
 * then requantizes every element against the stored (f16/6-bit) scale and min. Leaves the levels in L.
 * Writes d, dmin and the packed scales at out[o..o+16).
 */
function quantAffineSuperBlock(x: Float32Array, xo: number, out: Uint8Array, o: number, nmax: 15 | 31): void {
  // ggml's search parameters: rmin -1, rdelta 0.1, 20 steps for Q4_K; -0.5, 0.1, 15 steps for Q5_K.
  const [rmin, nstep] = nmax === 15 ? [-1, 20] : [-0.5, 15];
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const so = xo + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[so + l] * x[so + l]));
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[so + l]);
    makeQkx2Quants(32, nmax, x, so, weights, L, 32 * j, aux, rmin, fr(0.1), nstep, fit);
    scales[j] = fit.scale;
    mins[j] = fit.min;
    if (fit.scale > maxScale) maxScale = fit.scale;
    if (fit.min > maxMin) maxMin = fit.min;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    // ggml stores nearest_int into a uint8_t before MIN(63); clamping at 0 too keeps a (never seen)
    // negative fitted scale from wrapping around.
    scBuf[j] = Math.max(0, Math.min(63, nearestInt(fr(invScale * scales[j]))));
    mBuf[j] = Math.max(0, Math.min(63, nearestInt(fr(invMin * mins[j]))));
  }
  packScaleMin(out, o + 4, scBuf, mBuf);
  const d = putF16(out, o, fr(maxScale / 63));
  const dmin = putF16(out, o + 2, fr(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const dj = fr(d * scBuf[j]);
    if (!dj) continue; // keep make_qkx2_quants' levels, as ggml does
    const mj = fr(dmin * mBuf[j]);
    for (let l = 0; l < 32; l++) {
      L[32 * j + l] = Math.max(0, Math.min(nmax, nearestInt(fr(fr(x[xo + 32 * j + l] + mj) / dj))));
    }
  }
}

export function quantQ4_K(x: Float32Array, out: Uint8Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    quantAffineSuperBlock(x, i * QK_K, out, o, 15);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) out[o + 16 + 32 * c + l] = L[64 * c + l] | (L[64 * c + 32 + l] << 4);
    }
  }
}

export function quantQ5_K(x: Float32Array, out: Uint8Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * 176;
    quantAffineSuperBlock(x, i * QK_K, out, o, 31);
    out.fill(0, o + 16, o + 48);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * c + l];
        const l2 = L[64 * c + 32 + l];
        out[o + 48 + 32 * c + l] = (l1 & 15) | ((l2 & 15) << 4);
        out[o + 16 + l] |= ((l1 >> 4) << (2 * c)) | ((l2 >> 4) << (2 * c + 1));
      }
    }
  }
}

/**
 * quantize_row_q6_K_ref: make_qx_quants(16, 32, …, rmse_type 1) per sub-block, int8 sub-block scales
 * against the largest-magnitude one (which maps to -128), then requantization against the stored scales.
 */
export function quantQ6_K(x: Float32Array, out: Uint8Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    out.fill(0, o, o + 210);
    if (maxAbsScale < GROUP_MAX_EPS) continue;
    const iscale = fr(-128 / maxScale);
    const d = putF16(out, o + 208, fr(1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      const sc = Math.max(-128, Math.min(127, nearestInt(fr(iscale * scales[ib]))));
      out[o + 192 + ib] = sc & 0xff;
      const dj = fr(d * sc);
      if (!dj) continue;
      for (let l = 0; l < 16; l++) {
        L[16 * ib + l] = Math.max(-32, Math.min(31, nearestInt(fr(x[xo + 16 * ib + l] / dj)))) + 32;
      }
    }
    for (let half = 0; half < 2; half++) {
      const j = 128 * half;
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l];
        const q2 = L[j + l + 32];
        const q3 = L[j + l + 64];
        const q4 = L[j + l + 96];
        out[o + 64 * half + l] = (q1 & 15) | ((q3 & 15) << 4);
        out[o + 64 * half + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
        out[o + 128 + 32 * half + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}
