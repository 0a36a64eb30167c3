// Scale searches used by the K-quant reference quantizers, following ggml-quants.c's make_qkx2_quants
// (asymmetric: x ≈ scale·L - min, L in [0, nmax]) and make_qx_quants (symmetric: x ≈ scale·(L - nmax)).
// They run in f64 rather than f32, so the chosen scales can differ from llama.cpp's in the last bits
// (and occasionally pick a neighbouring candidate), but they search the same candidates by the same criteria.

/** ggml's GROUP_MAX_EPS: groups with a smaller absolute max are treated as all zero. */
export const GROUP_MAX_EPS = 1e-15;

/** ggml's nearest_int: round to nearest, halves to even (it adds 1.5·2^23 in f32). */
export function nearestInt(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r & 1 ? r - 1 : r;
}

export interface AffineFit {
  scale: number;
  /** The (non-negative) amount subtracted: x ≈ scale·L - min. */
  min: number;
}

/**
 * make_qkx2_quants over x[o..o+n): fills L[lo..lo+n) with levels in [0, nmax] minimizing the weighted squared
 * error of scale·L - min, trying nstep+1 candidate inverse scales (rmin + rdelta·is + nmax)/(max - min) and
 * solving least squares for (scale, min) at each.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  o: number,
  weights: Float64Array,
  L: Uint8Array,
  lo: number,
  aux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  fit: AffineFit,
): void {
  let min = x[o];
  let max = x[o];
  let sumW = weights[0];
  let sumX = sumW * x[o];
  for (let i = 1; i < n; i++) {
    const v = x[o + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW += weights[i];
    sumX += weights[i] * v;
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    fit.scale = 0;
    fit.min = -min;
    return;
  }
  let iscale = nmax / (max - min);
  let scale = 1 / iscale;
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[o + i] - min))));
    L[lo + i] = l;
    const diff = scale * l + min - x[o + i];
    bestError += weights[i] * diff * diff;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[o + i] - min))));
      aux[i] = l;
      const w = weights[i];
      sumL += w * l;
      sumL2 += w * l * l;
      sumXL += w * l * x[o + i];
    }
    const D = sumW * sumL2 - sumL * sumL;
    if (D > 0) {
      let thisScale = (sumW * sumXL - sumX * sumL) / D;
      let thisMin = (sumL2 * sumX - sumL * sumXL) / D;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      let err = 0;
      for (let i = 0; i < n; i++) {
        const diff = thisScale * aux[i] + thisMin - x[o + i];
        err += weights[i] * diff * diff;
      }
      if (err < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = aux[i];
        bestError = err;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  fit.scale = scale;
  fit.min = -min;
}

/**
 * make_qx_quants over x[o..o+n) with rmse_type 1 and no importance weights (weights x²): fills L[lo..lo+n)
 * with levels l + nmax, l in [-nmax, nmax-1], and returns the (signed) scale; x ≈ scale·(L - nmax).
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  o: number,
  L: Uint8Array,
  lo: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[o + i]);
    if (ax > amax) {
      amax = ax;
      max = x[o + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const levelAt = (iscale: number, v: number) => Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
  let iscale = -nmax / max;
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[o + i];
    const l = levelAt(iscale, v);
    L[lo + i] = l + nmax;
    const w = v * v;
    sumlx += w * v * l;
    suml2 += w * l * l;
  }
  let scale = suml2 ? sumlx / suml2 : 0;
  let best = scale * sumlx;
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = -(nmax + 0.1 * is) / max;
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[o + i];
      const l = levelAt(iscale, v);
      const w = v * v;
      sumlx += w * v * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (let i = 0; i < n; i++) L[lo + i] = levelAt(iscale, x[o + i]) + nmax;
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}
