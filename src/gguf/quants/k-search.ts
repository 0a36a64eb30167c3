// Scale searches used by the K-quant reference quantizers, following ggml-quants.c's make_qkx2_quants
// (asymmetric: x ≈ scale·L - min, L in [0, nmax]) and make_qx_quants (symmetric: x ≈ scale·(L - nmax)).
// Every arithmetic step is rounded to f32 (Math.fround) in the C evaluation order, so the results match
// llama.cpp's scalar reference build bit for bit (a build that contracts a·b + c into FMA may differ).

const fr = Math.fround;

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

/** Weighted squared error of scale·L[lo+i] + min against x[o+i], summed in f32. */
function affineError(
  n: number,
  x: Float32Array,
  o: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  scale: number,
  min: number,
): number {
  let err = 0;
  for (let i = 0; i < n; i++) {
    const diff = fr(fr(fr(scale * L[lo + i]) + min) - x[o + i]);
    err = fr(err + fr(weights[i] * fr(diff * diff)));
  }
  return err;
}

/**
 * make_qkx2_quants over x[o..o+n) (use_mad false): fills L[lo..lo+n) with levels in [0, nmax] minimizing the
 * weighted squared error of scale·L - min, trying nstep+1 candidate inverse scales
 * (rmin + rdelta·is + nmax)/(max - min) and solving weighted least squares for (scale, min) at each.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  o: number,
  weights: Float32Array,
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
  let sumX = fr(sumW * x[o]);
  for (let i = 1; i < n; i++) {
    const v = x[o + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = fr(sumW + weights[i]);
    sumX = fr(sumX + fr(weights[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    fit.scale = 0;
    fit.min = -min;
    return;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  for (let i = 0; i < n; i++) {
    L[lo + i] = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(x[o + i] - min)))));
  }
  let bestError = affineError(n, x, o, weights, L, lo, scale, min);
  for (let is = 0; is <= nstep; is++) {
    // min moves to the best fit found so far, so the candidates are relative to the current range (as in ggml).
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(x[o + i] - min)))));
      aux[i] = l;
      const wl = fr(weights[i] * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * x[o + i]));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      const err = affineError(n, x, o, weights, aux, 0, thisScale, thisMin);
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
  const levelAt = (iscale: number, v: number) =>
    Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * v))));
  let iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[o + i];
    const l = levelAt(iscale, v);
    L[lo + i] = l + nmax;
    const w = fr(v * v);
    sumlx = fr(sumlx + fr(fr(w * v) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(fr(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[o + i];
      const l = levelAt(iscale, v);
      const w = fr(v * v);
      sumlx = fr(sumlx + fr(fr(w * v) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = levelAt(iscale, x[o + i]) + nmax;
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}
