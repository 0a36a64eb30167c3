// The decoding wrapper (kvpress's DecodingPress): every `interval` generated tokens the inner press's scores
// bring each head back to its target. Kept positions step by step against a numpy simulation
// (fixtures/reference.py), then cache lengths on a real model while generating.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decoding, expectedAttention, keydiff } from '../../src/index.js';
import { Model } from '../../src/model/model.js';
import { AdaKvPress } from '../../src/presses/adakv.js';
import { DecodingPress } from '../../src/presses/decoding.js';
import { pressFromSpec } from '../../src/presses/index.js';
import { KnormPress } from '../../src/presses/knorm.js';
import type { LayerState } from '../../src/presses/press.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

interface DecodingCase {
  keys: number[][][];
  prompt: number;
  target: number;
  interval: number;
  kept: number[][][];
}
const REF = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  decoding: DecodingCase;
  decodingAdaptive: DecodingCase;
};

/** A layer state over the positions each head still holds (keys from the case's full key list). */
function stateOf(c: DecodingCase, held: number[][], seen: number): LayerState {
  const d = c.keys[0][0].length;
  const K = held.map((ps, h) => Float32Array.from(ps.flatMap((p) => c.keys[h][p])));
  return {
    layer: 0,
    nLayers: 1,
    nKvHeads: held.length,
    groupSize: 1,
    headDim: d,
    seen,
    length: (h) => held[h].length,
    keys: (h, from = 0) => K[h].subarray(from * d),
    values: (h, from = 0) => K[h].subarray(from * d),
    positions: (h) => Int32Array.from(held[h]),
  };
}

function simulate(c: DecodingCase, press: DecodingPress): number[][][] {
  const heads = c.keys.length;
  let held = Array.from({ length: heads }, () => Array.from({ length: c.prompt }, (_, i) => i));
  assert.equal(
    press.compress(stateOf(c, held, c.prompt), { phase: 'prefill', newTokens: c.prompt, prefillDone: true }),
    null,
    'the prompt is left whole',
  );
  const trace: number[][][] = [];
  for (let t = c.prompt; t < c.kept.length + c.prompt; t++) {
    held = held.map((ps) => [...ps, t]);
    const keep = press.compress(stateOf(c, held, t + 1), {
      phase: 'decode',
      newTokens: 1,
      prefillDone: false,
    });
    if (keep) held = held.map((ps, h) => (keep[h] === null ? ps : Array.from(keep[h], (i) => ps[i])));
    trace.push(held.map((ps) => [...ps]));
  }
  return trace;
}

test('decoding(knorm): every 3rd generated token each head keeps its 5 lowest key norms (numpy trace)', () => {
  const c = REF.decoding;
  const press = new DecodingPress(new KnormPress({ budget: c.target, sink: 1 }), {
    interval: c.interval,
    prefill: false,
  });
  assert.deepEqual(simulate(c, press), c.kept);
  // From the first compression on, the heads grow by at most interval − 1 past the target.
  for (const step of c.kept.slice(c.interval - 1))
    for (const h of step) assert.ok(h.length <= c.target + c.interval - 1, `${h.length} tokens`);
});

test('decoding(adakv(knorm)): the heads share 2 × 5 slots at each compression (numpy trace)', () => {
  const c = REF.decodingAdaptive;
  const press = new DecodingPress(new AdaKvPress(new KnormPress({ budget: c.target, sink: 1 })), {
    interval: c.interval,
    prefill: false,
  });
  const trace = simulate(c, press);
  assert.deepEqual(trace, c.kept);
  assert.notEqual(trace[2][0].length, trace[2][1].length, 'uneven heads');
});

test('decoding: options are checked and the inner press must score tokens', () => {
  assert.equal(pressFromSpec({ name: 'decoding', ratio: 4 }).name, 'decoding(knorm)');
  assert.equal(
    pressFromSpec({ name: 'decoding', inner: 'adakv-expected', ratio: 4 }).name,
    'decoding(adakv(expected))',
  );
  assert.throws(
    () => pressFromSpec({ name: 'decoding', ratio: 4, interval: 0 }),
    /interval must be a whole number/,
  );
  assert.throws(
    () => pressFromSpec({ name: 'decoding', ratio: 4, inner: 'tova' }),
    /decoding: option inner must be knorm or .*keydiff.*, got "tova"/,
  );
  assert.throws(() => pressFromSpec({ name: 'decoding', ratio: 4, inner: 'decoding' }), /got "decoding"/);
  assert.throws(
    () => pressFromSpec({ name: 'decoding', ratio: 4, prefill: 'yes' }),
    /option prefill must be true or false/,
  );
});

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 300 }, (_, i) => 3 + ((i * 17) % 290));

test('decoding bounds the cache while generating, for every inner press that scores tokens', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    for (const inner of ['knorm', 'keydiff', 'expected', 'snapkv', 'adakv-expected']) {
      // Prompt left whole; from the 4th generated token on, each compression brings the layer back to 2 × 64.
      const ctx = model.createContext({
        press: { name: 'decoding', inner, budget: 64, interval: 4, prefill: false },
      });
      ctx.evaluate(PROMPT);
      assert.equal(ctx.cache.length(0, 0), 300, `${inner}: prompt kept`);
      const sizes: number[] = [];
      for (let i = 0; i < 10; i++) {
        ctx.evaluate([7 + i], 'decode');
        sizes.push(ctx.cache.length(1, 0) + ctx.cache.length(1, 1));
      }
      assert.deepEqual(sizes, [602, 604, 606, 128, 130, 132, 134, 128, 130, 132], inner);
      ctx.dispose();
      // By default the inner press compresses the prompt too: the cache keeps close to its target throughout.
      const both = model.createContext({ press: { name: 'decoding', inner, ratio: 4, interval: 4 } });
      both.evaluate(PROMPT);
      for (let i = 0; i < 8; i++) both.evaluate([7 + i], 'decode');
      const target = Math.ceil(308 / 4);
      assert.equal(both.cache.length(0, 0) + both.cache.length(0, 1), 2 * target, `${inner} with prefill`);
      both.dispose();
    }
  } finally {
    await model.close();
  }
});

test('decoding at ratio 1 generates exactly what the full cache does', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const reference = await model.createContext().complete(PROMPT, { maxTokens: 20 });
    const out = await model
      .createContext({ press: { name: 'decoding', inner: 'keydiff', ratio: 1, interval: 2 } })
      .complete(PROMPT, { maxTokens: 20 });
    assert.equal(out, reference);
  } finally {
    await model.close();
  }
});

test('the library builds the new presses: decoding(keydiff(...)), expectedAttention(...)', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const ctx = model.createContext({ press: decoding(keydiff({ budget: 50 }), { interval: 5 }) });
    await ctx.complete(PROMPT, { maxTokens: 12 });
    // Prompt compressed to 50 (block-wise KeyDiff), back to 50 after the 5th and the 10th generated token, then
    // two more: 52.
    assert.equal(ctx.tokens.length, 312);
    assert.deepEqual([ctx.cache.length(0, 0), ctx.cache.length(1, 1)], [52, 52]);
    const ea = model.createContext({ press: expectedAttention({ ratio: 3 }) });
    ea.evaluate(PROMPT);
    assert.equal(ea.cache.length(1, 0), 100);
  } finally {
    await model.close();
  }
});
