// Does a Hadamard rotation before quantising help a q4_0 (or q8_0) cache? llama.cpp rotates keys before
// storing them in a quantised cache. This measures, on the embedded model's real keys and values after a
// passkey-style prefill, the relative RMS error of a q4_0 / q8_0 round trip with and without an orthonormal
// Walsh–Hadamard transform of each head's rows (undone after dequantising).
//
//   node --import tsx bench/hadamard-probe.ts
import { dequantize, quantize } from '../src/gguf/quants.js';
import { GgmlType } from '../src/gguf/types.js';
import { Model } from '../src/model/model.js';

const m = await Model.load('models/kvsieve-demo.gguf', { threads: 2 });
const ctx = m.createContext({ cacheType: { k: 'f32', v: 'f32' } });
const text =
  'The grass is green. The sky is blue. '.repeat(60) +
  'The pass key is 71432. Remember it. ' +
  'The sun is yellow. '.repeat(20);
await ctx.prefill(text);
const d = m.config.headDim;
/** In-place orthonormal fast Walsh–Hadamard transform of x[o, o + n) (n a power of two). */
function fwht(x: Float32Array, o: number, n: number) {
  for (let h = 1; h < n; h *= 2)
    for (let i = 0; i < n; i += 2 * h)
      for (let j = i; j < i + h; j++) {
        const a = x[o + j],
          b = x[o + j + h];
        x[o + j] = a + b;
        x[o + j + h] = a - b;
      }
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < n; i++) x[o + i] *= s;
}
for (const type of [GgmlType.Q4_0, GgmlType.Q8_0]) {
  for (const which of ['keys', 'values'] as const) {
    let e0 = 0,
      e1 = 0,
      nrm = 0;
    for (let l = 0; l < m.config.nLayers; l++)
      for (let h = 0; h < m.config.nKvHeads; h++) {
        const r = ctx.cache.read(l, h)[which];
        const q0 = dequantize(type, quantize(type, r), r.length);
        const rot = r.slice();
        for (let t = 0; t < rot.length / d; t++) fwht(rot, t * d, d);
        const q1 = dequantize(type, quantize(type, rot), rot.length);
        for (let t = 0; t < rot.length / d; t++) fwht(q1, t * d, d);
        for (let i = 0; i < r.length; i++) {
          e0 += (q0[i] - r[i]) ** 2;
          e1 += (q1[i] - r[i]) ** 2;
          nrm += r[i] ** 2;
        }
      }
    console.log(
      GgmlType[type],
      which,
      'rel RMS error plain',
      Math.sqrt(e0 / nrm).toFixed(4),
      'hadamard',
      Math.sqrt(e1 / nrm).toFixed(4),
    );
  }
}
await m.close();
