// Deterministic test inputs for the quantizer tests.
/** Deterministic uniform [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Super-block 0: roughly Gaussian values with a per-32 offset and a few outliers. Super-block 1: sub-blocks that
 * are all zero, constant, all negative, all positive, tiny (1e-20), then three more random ones.
 */
export function referenceInput(): Float32Array {
  const r = rng(20260101);
  const x = new Float32Array(512);
  const gauss = () => r() + r() + r() + r() - 2;
  for (let i = 0; i < 256; i++) x[i] = (i % 32 < 16 ? 0.05 : -0.03) + gauss() * (r() < 0.02 ? 6 : 0.7);
  for (let i = 0; i < 32; i++) {
    x[256 + i] = 0;
    x[288 + i] = 0.75;
    x[320 + i] = -Math.abs(gauss());
    x[352 + i] = Math.abs(gauss()) * 3;
    x[384 + i] = gauss() * 1e-20;
  }
  for (let i = 416; i < 512; i++) x[i] = gauss() * 0.1;
  return x;
}
