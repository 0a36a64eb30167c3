// LagKV against hand-computed scores and kept sets, and the cache-length arithmetic of the recursive
// schedule on a real forward pass.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Model } from '../../src/model/model.js';
import { LagKvPress, lagPartitionScore } from '../../src/presses/lagkv.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';
import { fakeState } from './fake-state.js';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('partition score: min-max by the next partition, unbiased std over channels, softmax (constant channel → 0)', () => {
  // Partition [t0, t1], reference [t2, t3]; channel 1 is constant 5 in both, so it normalises to 0.
  // Channel 0 reference range [0, 4]: z(t0) = (1, 0)/4 → (0.25, 0), z(t1) = (0.75, 0).
  // Unbiased std of two values = |a − b|/√2: 0.25/√2 = 0.1767767, 0.75/√2 = 0.5303301.
  // softmax: e^0.1767767 / (e^0.1767767 + e^0.5303301) = 1/(1 + e^0.3535534) = 0.4125212.
  const x = Float32Array.from([1, 5, 3, 5, 0, 5, 4, 5]);
  const s = lagPartitionScore(x, 2, 0, 2);
  close(s[0], 0.4125212);
  close(s[1], 1 - 0.4125212);
});

test('recursive LagKV keeps sink, top ⌊rL⌋ per scored partition, last partition and remainder; never re-scores', () => {
  // S = 1, L = 2, ratio 2 ⇒ one token kept per scored partition. 8 tokens: sink [0], partitions [1,2] [3,4]
  // [5,6], remainder [7]. [1,2] vs ref [3,4]: channel-0 range [0,3]; z = 1/3, 1 ⇒ token 2 spreads more.
  // [3,4] vs ref [5,6]: range [2, 2.5]; z = −4, 2 ⇒ token 3 (|−4|) spreads more.
  const rows = [
    [9, 5],
    [1, 5],
    [3, 5],
    [0, 5],
    [3, 5],
    [2, 5],
    [2.5, 5],
    [7, 5],
  ];
  const press = new LagKvPress({ ratio: 2, sink: 1, lag: 2 });
  const step = { phase: 'prefill' as const, newTokens: 8, prefillDone: true };
  const keep = press.compress(fakeState({ keys: [rows] }), step);
  assert.deepEqual(Array.from(keep?.[0] ?? []), [0, 2, 3, 5, 6, 7]);
  // Cache length S + ⌊rL⌋(P−1) + L + remainder = 1 + 1·2 + 2 + 1 = 6; base advanced to 3.
  // Six kept + two new = 8 tokens; base 3 ⇒ fires (8 ≥ 3 + 4), P = 2: only the partition after base is
  // scored (kept-list indices 3,4 against 5,6); indices below base are never touched.
  const after = [
    [9, 5],
    [3, 5],
    [0, 5],
    [2, 5],
    [2.5, 5],
    [7, 5],
    [1, 5],
    [8, 5],
  ];
  const keep2 = press.compress(fakeState({ keys: [after], seen: 10 }), step);
  // [3,4] = ([2,5], [2.5,5]) against [5,6] = ([7,5], [1,5]): range [1,7]; z = 1/6, 1.5/6 ⇒ index 4 wins.
  assert.deepEqual(Array.from(keep2?.[0] ?? []), [0, 1, 2, 4, 5, 6, 7]);
  // Not enough new tokens for another partition pair: nothing happens.
  assert.equal(press.compress(fakeState({ keys: [after.slice(0, 7)] }), step), null);
});

test('each KV head keeps its own tokens', () => {
  // S = 0, L = 2, ratio 2: partitions [0,1] (vs [2,3]) and [2,3] (vs [4,5]) are scored, [4,5] stays.
  // Head 0: [0,1] against ref channel-0 range [0,5] ⇒ z = 0, 0.2 ⇒ keeps 1. Head 1: ref range [0,1] ⇒
  // z = 5, 0 ⇒ keeps 0. Both: [2,3] against range [4,9] ⇒ z = −0.6 or −0.2, −0.8 ⇒ keep 3.
  const h0 = [
    [0, 0],
    [1, 0],
    [5, 0],
    [0, 0],
    [4, 0],
    [9, 9],
  ];
  const h1 = [
    [5, 0],
    [0, 0],
    [1, 0],
    [0, 0],
    [4, 0],
    [9, 9],
  ];
  const keep = new LagKvPress({ ratio: 2, sink: 0, lag: 2 }).compress(fakeState({ keys: [h0, h1] }), {
    phase: 'prefill',
    newTokens: 6,
    prefillDone: true,
  });
  assert.deepEqual(Array.from(keep?.[0] ?? []), [1, 3, 4, 5]);
  assert.deepEqual(Array.from(keep?.[1] ?? []), [0, 3, 4, 5]);
});

test('bad options are rejected by name', () => {
  assert.throws(() => new LagKvPress({ ratio: 0.5 }), /ratio must be a number >= 1/);
  assert.throws(() => new LagKvPress({ ratio: 4, lag: 1 }), /lag size L must be a whole number >= 2/);
  assert.throws(() => new LagKvPress({ ratio: 4, sink: -1 }), /sink must be a whole number >= 0/);
  assert.throws(
    () => new LagKvPress({ ratio: 4, mode: 'sometimes' as 'oneshot' }),
    /mode must be recursive or oneshot/,
  );
});

test('a 4096-token prefill at 4× leaves S + ⌊rL⌋(P−1) + L + rem = 1216 tokens per head; decoding fires every L tokens', async () => {
  const path = join(tempDir(), 'lag.gguf');
  writeTinyModel(path, { arch: 'llama', contextLength: 8192, seed: 5 });
  const model = await Model.load(path, { threads: 2 });
  try {
    const prompt = Array.from({ length: 4096 }, (_, i) => 3 + ((i * 31) % 290));
    const full = model.createContext();
    full.evaluate(prompt);
    const ctx = model.createContext({ press: { name: 'lagkv', ratio: 4 } });
    ctx.evaluate(prompt);
    for (let l = 0; l < 2; l++) for (let h = 0; h < 2; h++) assert.equal(ctx.cache.length(l, h), 1216);
    const bytesRatio = ctx.cache.bytes / full.cache.bytes;
    assert.ok(bytesRatio > 0.25 && bytesRatio < 0.33, `cache bytes ratio ${bytesRatio}`);
    // base = 16 + 32·30 = 976; the next firing needs n ≥ 976 + 256 = 1232, i.e. 16 decode steps, which
    // compress one partition: 1232 − 128 + 32 = 1136. Then every L = 128 tokens.
    for (let i = 0; i < 15; i++) ctx.evaluate([7], 'decode');
    assert.equal(ctx.cache.length(0, 0), 1231);
    ctx.evaluate([7], 'decode');
    assert.equal(ctx.cache.length(0, 0), 1136);
    for (let i = 0; i < 127; i++) ctx.evaluate([7], 'decode');
    assert.equal(ctx.cache.length(0, 0), 1263);
    ctx.evaluate([7], 'decode');
    assert.equal(ctx.cache.length(1, 1), 1168);

    // useThenCompress: false compresses inside the forward pass, before attention. Layer 0's keys do not
    // depend on attention, so its kept set is the same; the step that triggered compression already read
    // the compressed cache, so what follows (deeper layers' keys, the logits) differs.
    const used = model.createContext({ press: { name: 'lagkv', ratio: 4 } });
    const early = model.createContext({ press: { name: 'lagkv', ratio: 4, useThenCompress: false } });
    const a = used.evaluate(prompt.slice(0, 300));
    const b = early.evaluate(prompt.slice(0, 300));
    assert.equal(used.cache.length(0, 0), early.cache.length(0, 0));
    assert.deepEqual(used.cache.read(0, 1).positions, early.cache.read(0, 1).positions);
    assert.ok(
      a.some((x, i) => Math.abs(x - b[i]) > 1e-4),
      'compressing before attention changes that step',
    );

    // The one-shot variant acts once at the end of the prefill and keeps floor(n / ratio) per head.
    const once = model.createContext({ press: { name: 'lagkv', ratio: 4, mode: 'oneshot' } });
    once.evaluate(prompt);
    assert.equal(once.cache.length(0, 1), 1024);
    for (const c of [full, ctx, used, early, once]) c.dispose();
  } finally {
    await model.close();
  }
});
