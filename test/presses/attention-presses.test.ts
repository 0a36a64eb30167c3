// The attention-scored presses (H2O, SnapKV, PyramidKV, TOVA, AdaKV) on hand-made probabilities, and
// LayerState.attend against a softmax worked out by hand on the real kernel.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { KvCache } from '../../src/cache/kv-cache.js';
import { GgmlType } from '../../src/gguf/types.js';
import { Model } from '../../src/model/model.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { AdaKvPress, adaptiveKeep } from '../../src/presses/adakv.js';
import { avgPool1d, maxPool1d } from '../../src/presses/attention.js';
import { H2oPress } from '../../src/presses/h2o.js';
import { pressFromSpec } from '../../src/presses/index.js';
import { roundHalfEven } from '../../src/presses/press.js';
import { kvpressPyramidBudgets, linearPyramidBudgets } from '../../src/presses/pyramidkv.js';
import { SnapKvPress } from '../../src/presses/snapkv.js';
import { TovaPress } from '../../src/presses/tova.js';
import { tempDir } from '../helpers/tmp.js';
import { attendState, observation, probsOf } from './attend-state.js';

function closeAll(actual: ArrayLike<number>, expected: number[]): void {
  for (let j = 0; j < expected.length; j++)
    assert.ok(Math.abs(actual[j] - expected[j]) <= 1e-6, `[${j}] ${actual[j]} vs ${expected[j]}`);
}
const done = { phase: 'prefill' as const, newTokens: 8, prefillDone: true };
const keys = (n: number) => Array.from({ length: n }, (_, i) => [i, 1]);
const list = (k: ArrayLike<number> | null | undefined) => Array.from(k ?? []);

test('max-pooling is centred and clipped at the ends', () => {
  assert.deepEqual(
    Array.from(maxPool1d(Float64Array.from([0.1, 0, 0.9, 0, 0, 0.3]), 3)),
    [0.1, 0.9, 0.9, 0.9, 0.3, 0.3],
  );
  assert.deepEqual(Array.from(maxPool1d(Float64Array.from([1, 0, 0, 0, 2]), 5)), [1, 1, 2, 2, 2]);
});

test('average pooling is torch’s avg_pool1d with zero padding (divided by the whole kernel at the ends)', () => {
  closeAll(avgPool1d(Float64Array.from([0.1, 0.05, 0.9, 0.2, 0, 0.4]), 3), [
    0.15 / 3,
    1.05 / 3,
    1.15 / 3,
    1.1 / 3,
    0.6 / 3,
    0.4 / 3,
  ]);
  closeAll(avgPool1d(Float64Array.from([1, 0, 0, 0, 2]), 5), [1 / 5, 1 / 5, 3 / 5, 2 / 5, 2 / 5]);
});

test('SnapKV averages by default (the authors and kvpress); max-pooling is the option that chose otherwise', () => {
  // One KV head, two query heads, window 2 (positions 6, 7). Votes [.1, .05, .9, .2, 0, .4]: averaged over 3
  // [.05, .35, .3833, .3667, .2, .1333] ⇒ the 2 best are 2, 3; max-pooled [.1, .9, .9, .9, .4, .4] ⇒ 1, 2.
  const rows = [
    [
      [0.1, 0, 0.5, 0, 0, 0, 0.4, 0],
      [0, 0.05, 0, 0.2, 0, 0, 0, 0.75],
    ],
    [
      [0, 0, 0.4, 0, 0, 0.4, 0.2, 0],
      [0, 0, 0, 0, 0, 0, 0, 1],
    ],
  ];
  const kept = (o: { pooling?: 'avg' | 'max' }) => {
    const state = attendState({ keys: [keys(8)], groupSize: 2 }, () => probsOf(rows));
    const press = new SnapKvPress({ budget: 4, window: 2, kernel: 3, ...o });
    press.observe(0, observation(state, [0, 1, 2, 3, 4, 5, 6, 7], false), state);
    return list(press.compress(state, done)?.[0]);
  };
  assert.deepEqual(kept({}), [2, 3, 6, 7]);
  assert.deepEqual(kept({ pooling: 'avg' }), [2, 3, 6, 7]);
  assert.deepEqual(kept({ pooling: 'max' }), [1, 2, 6, 7]);
});

test('SnapKV max-pooling variant: window votes summed over the group and the window, top-k plus the window', () => {
  // One KV head shared by two query heads; 8 tokens, window 2 (positions 6, 7), kernel 3, budget 5.
  // Votes for the prefix: token 0: 0.1, token 2: 0.5 + 0.4, token 5: 0.3 ⇒ [0.1, 0, 0.9, 0, 0, 0.3],
  // pooled [0.1, 0.9, 0.9, 0.9, 0.3, 0.3] ⇒ the 3 best are 1, 2, 3 (pooling brings token 2's neighbours).
  const rows = [
    [
      [0, 0, 0.5, 0, 0, 0, 0.5, 0],
      [0.1, 0, 0, 0, 0, 0, 0, 0.9],
    ],
    [
      [0, 0, 0, 0, 0, 0.3, 0.7, 0],
      [0, 0, 0.4, 0, 0, 0, 0, 0.6],
    ],
  ];
  let asked: number[] = [];
  const state = attendState({ keys: [keys(8)], groupSize: 2 }, (_q, _n, pos) => {
    asked = Array.from(pos);
    return probsOf(rows);
  });
  const press = new SnapKvPress({ budget: 5, window: 2, kernel: 3, pooling: 'max' });
  // Two chunks: the window spans them, and only the last 2 queries are kept.
  press.observe(0, observation(state, [0, 1, 2, 3, 4, 5, 6], false), state);
  press.observe(0, observation(state, [7], false), state);
  assert.equal(press.compress(state, { ...done, prefillDone: false }), null);
  assert.deepEqual(list(press.compress(state, done)?.[0]), [1, 2, 3, 6, 7]);
  assert.deepEqual(asked, [6, 7]);
});

test('SnapKV query-aware: the question votes for every context token (its own keys are left out)', () => {
  // 6 context tokens + 2 question keys (positions 6, 7) during the probe; after it, 6 tokens, budget 2.
  // Votes (one query head per KV head): [0.2, 0, 0, 0, 0.5, 0] + [0, 0, 0, 0, 0, 0.1] ⇒ kernel 1: keep 0, 4.
  const probe = attendState({ keys: [keys(8)] }, () =>
    probsOf([
      [
        [0.2, 0, 0, 0, 0.5, 0, 0.3, 0],
        [0, 0, 0, 0, 0, 0.1, 0.4, 0.5],
      ],
    ]),
  );
  const press = new SnapKvPress({ budget: 2, kernel: 1 });
  press.observe(0, observation(probe, [6, 7], true), probe);
  const after = attendState({ keys: [keys(6)] }, () => {
    throw new Error('no window attention in query-aware mode');
  });
  assert.deepEqual(list(press.compress(after, done)?.[0]), [0, 4]);
});

test('PyramidKV budgets as kvpress computes them: window inside, top layer clamped, uniform fallback', () => {
  // n = 4000, ratio 4: T = 1000, w = 32, β = 20: k_min = 50, k_max = 1950; step 1900/3 = 633.3 ⇒
  // round(1950), round(1316.67), round(683.33), round(50).
  assert.deepEqual(kvpressPyramidBudgets(4, 1000, 4000, 32, 20), [1950, 1317, 683, 50]);
  // n = 1000, T = 800: k_max = 1560 ≥ n − w = 968, so k_max = 968 and k_min = 1600 − 968 = 632; step 112.
  assert.deepEqual(kvpressPyramidBudgets(4, 800, 1000, 32, 20), [968, 856, 744, 632]);
  // 4000 tokens at 8×: T = 500, k_min = 25 < w ⇒ every layer round(T) (the case; kvsieve used to
  // give [939, 644, 350, 55]).
  assert.deepEqual(kvpressPyramidBudgets(4, 500, 4000, 32, 20), [500, 500, 500, 500]);
  assert.deepEqual(kvpressPyramidBudgets(4, 496, 3968, 64, 20), [496, 496, 496, 496]);
  // Python's round: halves to even.
  assert.deepEqual(kvpressPyramidBudgets(2, 2.5, 5, 32, 20), [2, 2]);
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, 2, 3]);
});

test('PyramidKV linear layout (kvsieve’s earlier one): beyond the window, linear and summing to the total', () => {
  // m = 100 − 32 = 68; k_min = 3.4, k_max = 132.6, step 43.0667; running sums 132.6, 222.13, 268.6, 272 round
  // to 133, 222, 269, 272 ⇒ 133, 89, 47, 3 beyond the window.
  assert.deepEqual(linearPyramidBudgets(4, 100, 1000, 32, 20), [165, 121, 79, 35]);
  // The first layer would need more than the prompt: uniform.
  assert.deepEqual(linearPyramidBudgets(4, 100, 150, 32, 20), [100, 100, 100, 100]);
  // Budget within the window: uniform.
  assert.deepEqual(linearPyramidBudgets(3, 20, 1000, 32, 20), [20, 20, 20]);
});

test('TOVA: the newest query’s attention averaged over heads; evicts the lowest, keeps the newest token', () => {
  // Two KV heads (group 1), 5 tokens. Mean of [.1,.3,.1,.2,.3] and [.3,0,.1,.4,.2] = [.2,.15,.1,.3,.25].
  // Budget 3: token 4 is the newest (kept), then 3 (.3) and 0 (.2).
  let asked = 0;
  const state = attendState({ keys: [keys(5), keys(5)] }, (_q, n) => {
    asked = n;
    return probsOf([[[0.1, 0.3, 0.1, 0.2, 0.3]], [[0.3, 0, 0.1, 0.4, 0.2]]]);
  });
  const press = new TovaPress({ budget: 3 });
  press.observe(0, observation(state, [0, 1, 2, 3, 4], false), state);
  assert.equal(asked, 1, 'only the newest query is scored');
  assert.equal(press.compress(state, { ...done, prefillDone: false }), null, 'not before the prefill ends');
  const keep = press.compress(state, done);
  assert.deepEqual(list(keep?.[0]), [0, 3, 4]);
  assert.deepEqual(list(keep?.[1]), [0, 3, 4]);
  // While decoding, one token over the budget ⇒ exactly one evicted.
  const dec = attendState({ keys: [keys(4), keys(4)] }, () =>
    probsOf([[[0.5, 0.1, 0.2, 0.2]], [[0.5, 0.1, 0.2, 0.2]]]),
  );
  press.observe(0, observation(dec, [9], false), dec);
  assert.deepEqual(
    list(press.compress(dec, { phase: 'decode', newTokens: 1, prefillDone: false })?.[0]),
    [0, 2, 3],
  );
});

test('H2O: attention accumulated over calls and the group; heavy half + recent half', () => {
  // One KV head, two query heads. First call: [.5,.1,.1,.1,.1,.1] + [.1,.1,.4,.2,.1,.1] = [.6,.2,.5,.3,.2,.2],
  // which the kernel hands over already summed over the group (keySums).
  // Budget 4: recent 2 (tokens 4, 5) + heavy 2 of the rest (0: .6, 2: .5).
  const press = new H2oPress({ budget: 4 });
  const s6 = attendState({ keys: [keys(6)], groupSize: 2 }, () => probsOf([[[]]]));
  press.observe(
    0,
    {
      ...observation(s6, [5], false),
      keySums: Float32Array.from([0.6, 0.2, 0.5, 0.3, 0.2, 0.2]),
      maxKeys: 6,
    },
    s6,
  );
  assert.deepEqual(list(press.compress(s6, done)?.[0]), [0, 2, 4, 5]);
  // Kept scores [.6, .5, .2, .2] + a new token; the next call adds [0,0,.6,.4,1]: [.6,.5,.8,.6,1].
  // Recent 2 (indices 3, 4); heavy: 2 (.8) and 0 (.6) — index 1 (.5) goes although it led before.
  const s5 = attendState({ keys: [keys(5)], groupSize: 2, seen: 7 }, () => probsOf([[[]]]));
  press.observe(
    0,
    { ...observation(s5, [6], false), keySums: Float32Array.from([0, 0, 0.6, 0.4, 1]), maxKeys: 5 },
    s5,
  );
  assert.deepEqual(
    list(press.compress(s5, { phase: 'decode', newTokens: 1, prefillDone: false })?.[0]),
    [0, 2, 3, 4],
  );
});

test('AdaKV: one top-k over the heads of a layer, each head guaranteed ⌊α·b⌋ tokens', () => {
  const scores = [Float64Array.from([0.9, 0.8, 0.7, 0.6]), Float64Array.from([0.2, 0.1, 0.05, 0.15])];
  // Mean budget 2 over 2 heads = 4 slots. Without the safeguard head 0 takes all four.
  assert.deepEqual(adaptiveKeep(scores, 2, 0).map(list), [[0, 1, 2, 3], []]);
  // α = 0.5 guarantees ⌊0.5·2⌋ = 1 token per head: head 1 keeps its best (0), head 0 its best three.
  assert.deepEqual(adaptiveKeep(scores, 2, 0.5).map(list), [[0, 1, 2], [0]]);
  // Through the press: AdaKV(SnapKV) with a window of 1 and kernel 1, budget 3 per head ⇒ 6 slots.
  const state = attendState({ keys: [keys(5), keys(5)] }, () =>
    probsOf([[[0.3, 0.3, 0.2, 0.1, 0.1]], [[0.9, 0.01, 0.02, 0.03, 0.04]]]),
  );
  const press = new AdaKvPress(new SnapKvPress({ budget: 3, window: 1, kernel: 1 }));
  press.observe(0, observation(state, [4], false), state);
  // Windows (token 4 of each head) are +∞; safeguard ⌊0.2·3⌋ = 0; then .9 (h1 t0), .3, .3, .2 (h0) ⇒
  // head 0 keeps 0, 1, 2, 4 and head 1 keeps 0, 4: 6 tokens, unevenly.
  assert.deepEqual(press.compress(state, { ...done, newTokens: 5 })?.map(list), [
    [0, 1, 2, 4],
    [0, 4],
  ]);
});

test('the registry builds the attention presses and rejects bad options by name', () => {
  assert.equal(pressFromSpec({ name: 'adakv', ratio: 2 }).name, 'adakv(snapkv)');
  assert.equal(pressFromSpec({ name: 'adakv', inner: 'pyramidkv', ratio: 2 }).name, 'adakv(pyramidkv)');
  assert.throws(
    () => pressFromSpec({ name: 'adakv', inner: 'h2o', ratio: 2 }),
    /adakv: option inner must be snapkv or pyramidkv or expected, got "h2o"/,
  );
  assert.throws(
    () => pressFromSpec({ name: 'snapkv', ratio: 2, kernel: 4 }),
    /kernel must be an odd whole number/,
  );
  assert.throws(
    () => pressFromSpec({ name: 'pyramidkv', ratio: 2, beta: 0.5 }),
    /beta must be a number >= 1/,
  );
  assert.throws(() => pressFromSpec({ name: 'h2o' }), /h2o: needs a ratio or a budget/);
  assert.throws(
    () => pressFromSpec({ name: 'laserkv', ratio: 4, mode: 'sometimes' }),
    /mode must be append or recursive/,
  );
  assert.throws(
    () => pressFromSpec({ name: 'laserkv', ratio: 4, divisor: 1 }),
    /divisor must be a whole number >= 2/,
  );
  assert.throws(
    () => pressFromSpec({ name: 'snapkv', ratio: 2, pooling: 'median' }),
    /snapkv: option pooling must be avg or max, got "median"/,
  );
  assert.throws(
    () => pressFromSpec({ name: 'adakv', ratio: 2, beta: 4 }),
    /adakv: beta needs inner=pyramidkv/,
  );
});

test('LayerState.attend is the kernel’s causal softmax(q·k/√d), per query head of the group', async () => {
  const path = join(tempDir(), 'att.gguf');
  writeSyntheticModel(path, {
    arch: 'llama',
    dim: 32,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 1,
    headDim: 4,
    ffnDim: 32,
    vocabSize: 300,
    contextLength: 64,
    type: GgmlType.F32,
    tiedOutput: false,
    seed: 1,
  });
  const model = await Model.load(path, { threads: 1 });
  try {
    const cache = new KvCache(model.backend, { nLayers: 1, nKvHeads: 1, headDim: 4 }, { k: 'f32', v: 'f32' });
    // Keys e₁, 2e₁, 0 at positions 0, 1, 2; scale 1/√4.
    const k = Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    cache.append(0, k, k, Int32Array.from([0, 1, 2]), 3);
    // Query head 0 = 2e₁ (scores 1, 2, 0), head 1 = 0 (uniform). Query 0 at position 2, query 1 at position 1.
    const q = Float32Array.from([2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    const { probs, maxKeys } = cache.layerState(0, 2).attend?.(q, 2, [2, 1]) ?? {
      probs: new Float32Array(),
      maxKeys: 0,
    };
    assert.equal(maxKeys, 3);
    const e = Math.E;
    const all = e + e * e + 1;
    closeAll(probs.subarray(0, 3), [e / all, (e * e) / all, 1 / all]);
    closeAll(probs.subarray(3, 6), [e / (e + e * e), (e * e) / (e + e * e), 0]);
    closeAll(probs.subarray(6, 12), [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0]);
    cache.clear();
  } finally {
    await model.close();
  }
});
