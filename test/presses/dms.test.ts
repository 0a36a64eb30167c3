// The DMS-style threshold press (kvpress's DMSPress; a library press, it needs a threshold): each token scored
// once on arrival by the inner press, judged when it leaves the window. Kept positions call by call against numpy (fixtures/reference.py); then on a
// real model: variable counts, the window kept whole, generation judged only when asked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dms, keydiff } from '../../src/index.js';
import { Model } from '../../src/model/model.js';
import { type DmsOptions, DmsPress } from '../../src/presses/dms.js';
import { KnormPress } from '../../src/presses/knorm.js';
import type { LayerState } from '../../src/presses/press.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const REF = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  dms: { keys: number[][][]; calls: number[]; window: number; threshold: number; kept: number[][][] };
};

function stateOf(keys: number[][][], held: number[][], seen: number): LayerState {
  const K = held.map((ps, h) => Float32Array.from(ps.flatMap((p) => keys[h][p])));
  return {
    layer: 0,
    nLayers: 1,
    nKvHeads: held.length,
    groupSize: 1,
    headDim: keys[0][0].length,
    seen,
    length: (h) => held[h].length,
    keys: (h, from = 0) => K[h].subarray(from * keys[0][0].length),
    values: (h, from = 0) => K[h].subarray(from * keys[0][0].length),
    positions: (h) => Int32Array.from(held[h]),
  };
}

test('dms(knorm): judged on leaving a 4-token window, evicted below −1.5 (numpy, prefill and decoding)', () => {
  const c = REF.dms;
  const press = new DmsPress(new KnormPress({ ratio: 1, sink: 0 }), {
    threshold: c.threshold,
    window: c.window,
    decoding: true,
  });
  let held: number[][] = c.keys.map(() => []);
  let pos = 0;
  const trace: number[][][] = [];
  c.calls.forEach((n, i) => {
    held = held.map((ps) => [...ps, ...Array.from({ length: n }, (_, j) => pos + j)]);
    pos += n;
    const phase = i < 2 ? ('prefill' as const) : ('decode' as const);
    const keep = press.compress(stateOf(c.keys, held, pos), { phase, newTokens: n, prefillDone: i === 1 });
    if (keep) held = held.map((ps, h) => (keep[h] === null ? ps : Array.from(keep[h], (j) => ps[j])));
    trace.push(held.map((ps) => [...ps]));
  });
  assert.deepEqual(trace, c.kept);
  // The heads end with different counts: the threshold, not a budget, decides.
  assert.notEqual(trace.at(-1)?.[0].length, trace.at(-1)?.[1].length);
});

test('dms: a compression repeated for the same tokens (after a probe) scores nothing twice', () => {
  const c = REF.dms;
  const press = new DmsPress(new KnormPress({ ratio: 1, sink: 0 }), { threshold: c.threshold, window: 4 });
  const held = c.keys.map(() => Array.from({ length: 12 }, (_, i) => i));
  const step = { phase: 'prefill' as const, newTokens: 12, prefillDone: true };
  const first = press.compress(stateOf(c.keys, held, 12), step);
  assert.ok(first);
  const after = held.map((ps, h) => (first[h] === null ? ps : Array.from(first[h], (j) => ps[j])));
  assert.equal(press.compress(stateOf(c.keys, after, 12), step), null);
});

test('dms: options', () => {
  const inner = new KnormPress({ ratio: 1, sink: 0 });
  assert.throws(() => dms(inner, {} as DmsOptions), /dms: needs a threshold/);
  assert.equal(dms(inner, { threshold: -3 }).name, 'dms(knorm)');
  assert.equal(dms(keydiff({ ratio: 1 }), { threshold: 0 }).name, 'dms(keydiff)');
  assert.throws(() => dms(inner, { threshold: 0, window: -1 }), /window must be/);
});

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 700 }, (_, i) => 3 + ((i * 17) % 290));

test('dms on a real model: a content-dependent count, the last 128 tokens whole, decoding only when asked', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    // The median key norm of the first layer's first head, as the threshold: about half the judged tokens go.
    const probe = model.createContext();
    probe.evaluate(PROMPT);
    const { keys } = probe.cache.read(0, 0);
    const d = 16;
    const norms = Array.from({ length: 700 }, (_, t) =>
      Math.sqrt(keys.subarray(t * d, (t + 1) * d).reduce((a, x) => a + x * x, 0)),
    );
    const median = [...norms].sort((a, b) => a - b)[350];
    for (const decoding of [false, true]) {
      const ctx = model.createContext({
        press: dms(new KnormPress({ ratio: 1, sink: 0 }), { threshold: -median, decoding }),
      });
      ctx.evaluate(PROMPT);
      const n = ctx.cache.length(0, 0);
      assert.ok(n > 128 + 100 && n < 700 - 100, `about half of the judged tokens stay: ${n}`);
      // Exactly the judged tokens below the threshold went from layer 0, head 0.
      const kept = new Set(ctx.cache.read(0, 0).positions);
      for (let t = 0; t < 700; t++)
        assert.equal(kept.has(t), t >= 700 - 128 || norms[t] <= median, `token ${t}`);
      for (let i = 0; i < 40; i++) ctx.evaluate([5 + (i % 7)], 'decode');
      const m = ctx.cache.length(0, 0);
      if (decoding) assert.ok(m < n + 40, 'judged while generating');
      else assert.equal(m, n + 40, 'generation untouched');
      ctx.dispose();
    }
    const reference = await model.createContext().complete(PROMPT, { maxTokens: 12 });
    const none = dms(new KnormPress({ ratio: 1 }), { threshold: Number.NEGATIVE_INFINITY, decoding: true });
    assert.equal(await model.createContext({ press: none }).complete(PROMPT, { maxTokens: 12 }), reference);
  } finally {
    await model.close();
  }
});
