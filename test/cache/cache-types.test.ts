// KV storage types as llama.cpp's --cache-type-k/-v: real bytes per token (ggml's block sizes), every press
// over every type, and the logit error of f16 and q8_0 caches against f32 on the architecture test models.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CacheTypeError, type KvTypeName } from '../../src/cache/cache-type.js';
import { KvCache } from '../../src/cache/kv-cache.js';
import { dequantize, quantize } from '../../src/gguf/quants.js';
import { GgmlType } from '../../src/gguf/types.js';
import { Heap } from '../../src/kernels/heap.js';
import { RefBackend } from '../../src/kernels/ref.js';
import { Model } from '../../src/model/model.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { pressNames } from '../../src/presses/index.js';
import { ARCH_SHAPES } from '../helpers/arch-shapes.js';
import { tempDir } from '../helpers/tmp.js';
import { randomF32, rng } from '../kernels/helpers.js';

const dir = tempDir();

describe('bytes and contents of a cache', () => {
  const shape = { nLayers: 2, nKvHeads: 3, headDim: 64 };
  // Per token and head, by ggml's layouts: f32 4·64, f16 2·64, q8_0 two 34-byte blocks, q4_0 two 18-byte
  // blocks, for keys and for values; plus a 4-byte position.
  const perToken: Record<KvTypeName, number> = { f32: 516, f16: 260, q8_0: 140, q4_0: 76 };

  for (const [type, bytes] of Object.entries(perToken) as [KvTypeName, number][]) {
    test(`${type}: bytes per token and head, and what reads back`, () => {
      const backend = new RefBackend(new Heap(8 << 20));
      const cache = new KvCache(backend, shape, { k: type, v: type });
      const n = 128; // a whole number of 64-slot growth steps, so capacity = length
      const next = rng(1);
      const keys = randomF32(n * 3 * 64, next);
      const values = randomF32(n * 3 * 64, next);
      for (let l = 0; l < 2; l++)
        cache.append(
          l,
          keys,
          values,
          Int32Array.from({ length: n }, (_, i) => i),
          n,
        );
      assert.equal(cache.bytes, 2 * 3 * n * bytes);
      // Head 1 of layer 0 reads back as the stored type rounds it: ggml's own quantize/dequantize round trip.
      const head1 = new Float32Array(n * 64);
      for (let t = 0; t < n; t++) head1.set(keys.subarray(t * 192 + 64, t * 192 + 128), t * 64);
      const ggml = { f32: GgmlType.F32, f16: GgmlType.F16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 }[type];
      const whole = dequantize(ggml, quantize(ggml, head1), n * 64);
      assert.deepEqual(cache.read(0, 1).keys, whole);
      // A press's view from a row on: the same values, only the rows asked for.
      const state = cache.layerState(0, 3);
      assert.deepEqual(Array.from(state.keys(1, 100)), Array.from(whole.subarray(100 * 64)));
      assert.equal(state.values(1, n).length, 0);
      assert.throws(
        () => state.keys(1, n + 1),
        /keys\(\): from must be a whole number in \[0, 128\], got 129/,
      );
      // Evicting keeps the bytes honest: half the tokens, half the bytes.
      cache.keep(
        0,
        1,
        Array.from({ length: 64 }, (_, i) => 2 * i),
      );
      assert.equal(cache.length(0, 1), 64);
      // Runs of neighbours (moved a run at a time) and single tokens: the rows and positions that stay are
      // exactly the chosen ones, in order.
      const runs = [0, 1, 2, 5, 6, 9, 40, 41, 42, 43, 44, 100, 127];
      const before = cache.read(1, 2);
      cache.keep(1, 2, runs);
      const after = cache.read(1, 2);
      assert.deepEqual(Array.from(after.positions), runs);
      const rowsOf = (a: Float32Array, idx: number[]) =>
        idx.flatMap((t) => Array.from(a.subarray(t * 64, (t + 1) * 64)));
      assert.deepEqual(Array.from(after.keys), rowsOf(before.keys, runs));
      assert.deepEqual(Array.from(after.values), rowsOf(before.values, runs));
      assert.throws(() => cache.keep(1, 2, [3, 2]), /strictly increasing/);
      assert.equal(cache.length(1, 2), runs.length);
      assert.deepEqual(
        cache.positions(0, 1),
        Int32Array.from({ length: 64 }, (_, i) => 2 * i),
      );
    });
  }

  test('a converted head is lent to a press until the cache changes, then lent again', () => {
    const cache = new KvCache(new RefBackend(new Heap(8 << 20)), shape, { k: 'f16', v: 'q8_0' });
    const next = rng(9);
    const put = (n: number, from: number) =>
      cache.append(
        0,
        randomF32(n * 3 * 64, next),
        randomF32(n * 3 * 64, next),
        Int32Array.from({ length: n }, (_, i) => from + i),
        n,
      );
    put(40, 0);
    let state = cache.layerState(0, 1);
    const [k0, k1, v0] = [state.keys(0), state.keys(1), state.values(0)];
    // Held at once, three arrays; each what read() (a copy of its own) gives.
    assert.equal(new Set([k0.buffer, k1.buffer, v0.buffer]).size, 3);
    assert.deepEqual(Array.from(k1), Array.from(cache.read(0, 1).keys));
    assert.deepEqual(Array.from(v0), Array.from(cache.read(0, 0).values));
    // After a change the same arrays come back, with the new contents.
    put(8, 40);
    state = cache.layerState(0, 1);
    const k2 = state.keys(2, 8);
    assert.ok([k0.buffer, k1.buffer, v0.buffer].includes(k2.buffer));
    assert.deepEqual(Array.from(k2), Array.from(cache.read(0, 2).keys.subarray(8 * 64)));
    assert.equal(k2.length, 40 * 64);
  });

  test('unknown types and head sizes that are not whole blocks are errors naming the problem', () => {
    const backend = new RefBackend(new Heap());
    assert.throws(
      () => new KvCache(backend, shape, { k: 'q5_0' as KvTypeName }),
      (e: Error) =>
        e instanceof CacheTypeError &&
        /cacheType\.k: unknown cache type "q5_0" \(one of f32, f16, q8_0, q4_0\)/.test(e.message),
    );
    assert.throws(
      () => new KvCache(backend, { ...shape, headDim: 48 }, { v: 'q4_0' }),
      /cacheType\.v: q4_0 stores blocks of 32 values, but this model's head size is 48/,
    );
    // f16 and f32 take any head size.
    new KvCache(backend, { ...shape, headDim: 36 }, { k: 'f16', v: 'f32' });
  });
});

// The architecture test models, F16 weights.
const SHAPES = ARCH_SHAPES;

/**
 * Bounds on max |Δlogit| relative to the logits' range. f16 keeps 11 significant bits (relative error
 * ≤ 2^-11 ≈ 4.9e-4 per stored value); q8_0 rounds each value to within amax/254 of its block (~0.4% of the
 * block's largest value). Measured on these models: f16 2.3–2.5e-4, q8_0 6.2–7.3e-3 of the range.
 */
const BOUND: Partial<Record<KvTypeName, number>> = { f16: 1e-3, q8_0: 2e-2 };

describe('logits with an f16 or q8_0 cache stay close to f32', () => {
  for (const [name, shape] of Object.entries(SHAPES)) {
    test(name, async () => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.gguf`);
      writeSyntheticModel(path, { ...shape, type: GgmlType.F16, seed: 5 });
      const model = await Model.load(path, { threads: 2 });
      after(() => model.close());
      const next = rng(7);
      const ids = Array.from({ length: 200 }, () => 3 + Math.floor(next() * (shape.vocabSize - 3)));
      const pos = ids.map((_, i) => i);
      const logits = (k: KvTypeName, v: KvTypeName) =>
        model.transformer.forward(
          ids,
          pos,
          model.createContext({ cacheType: { k, v } }).cache,
          'all',
        ) as Float32Array;
      const ref = logits('f32', 'f32');
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of ref) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      for (const type of ['f16', 'q8_0'] as const) {
        const got = logits(type, type);
        let err = 0;
        for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i] - ref[i]));
        const rel = err / (hi - lo);
        process.stdout.write(
          `# ${name}, ${type} cache: max |Δlogit| ${err.toExponential(2)} (${rel.toExponential(2)} of the range)\n`,
        );
        assert.ok(rel <= (BOUND[type] as number), `${type}: ${rel} of the logit range`);
        // Not the f32 cache by accident.
        assert.ok(err > 0);
      }
    });
  }
});

describe('every press over every storage type', () => {
  test('prefill, compression and decode run and keep what the press says, with real bytes', async () => {
    const path = join(dir, 'press-types.gguf');
    writeSyntheticModel(path, { ...SHAPES['llama GQA untied'], type: GgmlType.Q8_0, seed: 2 });
    const model = await Model.load(path, { threads: 2 });
    after(() => model.close());
    const next = rng(3);
    const ids = Array.from({ length: 300 }, () => 3 + Math.floor(next() * 500));
    const question = ids.slice(0, 12);
    for (const press of pressNames()) {
      for (const type of ['f32', 'q8_0', 'q4_0'] as const) {
        const ctx = model.createContext({
          press: press === 'full' ? undefined : { name: press, ratio: 8 },
          cacheType: { k: type, v: type },
        });
        await ctx.prefill(ids, { question });
        const kept = ctx.cache.keptTokens;
        const bytes = ctx.cache.bytes;
        if (type === 'f32') continue;
        // The same press keeps the same number of tokens whatever the storage (budgets count tokens).
        const f32 = model.createContext({
          press: press === 'full' ? undefined : { name: press, ratio: 8 },
          cacheType: { k: 'f32', v: 'f32' },
        });
        await f32.prefill(ids, { question });
        assert.equal(kept, f32.cache.keptTokens, `${press} over ${type}`);
        const perToken = { q8_0: 140, q4_0: 76 }[type] / 516;
        // Capacity slack differs by at most 16 slots per head (caches shrink to fit past that).
        assert.ok(
          Math.abs(bytes - f32.cache.bytes * perToken) <= 2 * 2 * 17 * 516,
          `${press} ${type}: ${bytes} bytes`,
        );
        ctx.dispose();
        f32.dispose();
      }
    }
  });

  test('LagKV 8× over q8_0 holds about 1/8 of the tokens at ~27% of f32 bytes each', async () => {
    const path = join(dir, 'lagkv-q8.gguf');
    writeSyntheticModel(path, {
      ...SHAPES['llama GQA untied'],
      contextLength: 4096,
      type: GgmlType.Q8_0,
      seed: 2,
    });
    const model = await Model.load(path, { threads: 2 });
    after(() => model.close());
    const next = rng(4);
    const ids = Array.from({ length: 4000 }, () => 3 + Math.floor(next() * 500));
    const full = model.createContext({ cacheType: { k: 'f32', v: 'f32' } });
    await full.prefill(ids);
    const ctx = model.createContext({
      press: { name: 'lagkv', ratio: 8 },
      cacheType: { k: 'q8_0', v: 'q8_0' },
    });
    await ctx.prefill(ids);
    const keptShare = ctx.cache.keptTokens / full.cache.keptTokens;
    // LagKV never compresses its sink and last partition (16 + up to 2·128 of 4000 tokens).
    assert.ok(keptShare > 0.125 && keptShare < 0.125 + 0.07, `kept ${keptShare}`);
    const bytesPerToken = ctx.cache.bytes / ctx.cache.keptTokens / (full.cache.bytes / full.cache.keptTokens);
    // (2·68 + 4) / (2·256 + 4) = 27.1%, up to the shrink-to-fit slack.
    assert.ok(Math.abs(bytesPerToken - 140 / 516) < 0.03, `bytes per token ${bytesPerToken}`);
  });
});
