// Repacking: Q5_0 blocks re-encoded as Q8_0 keep every value (checked block by block against both types'
// reference dequantisers), and a Q5_0 model loaded with `repack` gives the same logits: bit for bit on the
// reference backend (both types dequantise to the same floats), to rounding on the WASM kernels.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { dequantize, quantize } from '../../src/gguf/quants.js';
import { loadedBytes, q5_0ToQ8_0 } from '../../src/gguf/repack.js';
import { GgmlType } from '../../src/gguf/types.js';
import { Model } from '../../src/model/model.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { ARCH_SHAPES } from '../helpers/arch-shapes.js';
import { tempDir } from '../helpers/tmp.js';
import { randomF32, rng } from '../kernels/helpers.js';

test('Q5_0 → Q8_0 keeps every value: all 32 codes, both nibbles, every fifth bit, any scale', () => {
  const next = rng(3);
  // Quantised data (scales of all sizes, a zero block) and raw blocks with every 5-bit code and a fixed scale.
  const values = randomF32(64 * 32, next, 7);
  values.fill(0, 0, 32);
  for (let i = 32; i < 64; i++) values[i] *= 1e-3;
  const raw = new Uint8Array(8 * 22).map(() => Math.floor(next() * 256));
  for (let b = 0; b < 8; b++) [raw[b * 22], raw[b * 22 + 1]] = [0x00, 0x3c]; // d = 1.0
  for (const q5 of [quantize(GgmlType.Q5_0, values), raw]) {
    const n = (q5.length / 22) * 32;
    const q8 = new Uint8Array((q5.length / 22) * 34);
    q5_0ToQ8_0(q5, q8);
    assert.deepEqual(dequantize(GgmlType.Q8_0, q8, n), dequantize(GgmlType.Q5_0, q5, n));
  }
  // With d = 1 the raw blocks' values are their codes − 16: all of −16..15 occur.
  const codes = new Set(dequantize(GgmlType.Q5_0, raw, 8 * 32));
  assert.equal(codes.size, 32);
  assert.equal(loadedBytes({ type: GgmlType.Q5_0, bytes: 22 * 10 }, true), 34 * 10);
  assert.equal(loadedBytes({ type: GgmlType.Q5_0, bytes: 22 * 10 }, false), 22 * 10);
  assert.equal(loadedBytes({ type: GgmlType.Q4_K, bytes: 144 }, true), 144);
  assert.throws(() => q5_0ToQ8_0(new Uint8Array(23), new Uint8Array(34)), /not whole Q5_0 blocks/);
});

test('a Q5_0 model loaded with repack: the same logits (bit for bit on the reference backend)', async () => {
  const path = join(tempDir(), 'q5.gguf');
  writeSyntheticModel(path, { ...ARCH_SHAPES['llama GQA untied'], type: GgmlType.Q5_0, seed: 21 });
  const prompt = [1, 300, 301, 302, 17, 99, 260, 261];
  const run = async (backend: 'ref' | 'wasm', repack: boolean) => {
    const model = await Model.load(path, { backend, threads: 2, repack });
    try {
      const ctx = model.createContext();
      const logits = ctx.evaluate(prompt);
      return {
        logits,
        bytes: model.transformer.weights.bytes,
        text: await ctx.complete([], { maxTokens: 8 }),
      };
    } finally {
      await model.close();
    }
  };
  const [refStored, refRepacked] = [await run('ref', false), await run('ref', true)];
  assert.deepEqual(refRepacked.logits, refStored.logits);
  // Every matrix was Q5_0: 34/22 of the bytes.
  assert.ok(
    Math.abs(refRepacked.bytes / refStored.bytes - 34 / 22) < 1e-9,
    `${refRepacked.bytes / refStored.bytes}`,
  );
  // The WASM kernels quantise activations to int8 blocks, and Q5_0's kernel adds its −16 offset through
  // the float activations' block sums where Q8_0's folds it into the integer dots: each is off the exact
  // (reference) logits by its own share of activation rounding, bounded as in architectures.test.ts.
  const [stored, repacked] = [await run('wasm', false), await run('wasm', true)];
  const off = (a: Float32Array) => {
    let err = 0;
    let mag = 0;
    for (let i = 0; i < a.length; i++) {
      err = Math.max(err, Math.abs(a[i] - refStored.logits[i]));
      mag = Math.max(mag, Math.abs(refStored.logits[i]));
    }
    return err / mag;
  };
  assert.ok(off(stored.logits) <= 0.05, `stored: ${off(stored.logits)}`);
  assert.ok(off(repacked.logits) <= 0.05, `repacked: ${off(repacked.logits)}`);
  assert.equal(repacked.text, refStored.text);
});
