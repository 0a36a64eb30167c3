// The simple baselines on hand-made tensors, their budgets on a real forward pass, and the identity at ratio 1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Model } from '../../src/model/model.js';
import { overBudget, topKIndices } from '../../src/presses/budget.js';
import { pressFromSpec, pressNames } from '../../src/presses/index.js';
import { KnormPress } from '../../src/presses/knorm.js';
import { L2KvPress } from '../../src/presses/l2kv.js';
import type { LayerState } from '../../src/presses/press.js';
import { RandomPress } from '../../src/presses/random.js';
import { StreamingLlmPress } from '../../src/presses/streaming-llm.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';
import { fakeState } from './fake-state.js';

const step = { phase: 'prefill' as const, newTokens: 10, prefillDone: true };
const rows = (n: number, f: (i: number) => number[]) => Array.from({ length: n }, (_, i) => f(i));

test('StreamingLLM keeps the sink and the most recent tokens', () => {
  const keep = new StreamingLlmPress({ budget: 6, sink: 2 }).compress(
    fakeState({ keys: [rows(10, (i) => [i, 0])] }),
    step,
  );
  assert.deepEqual(Array.from(keep?.[0] ?? []), [0, 1, 6, 7, 8, 9]);
});

test('StreamingLLM without ranking keeps what ranking its positions keeps', () => {
  // Ranking positions: each head over budget keeps its `budget` highest, the sinks at +∞ (ScoredPress's rule).
  const ranked = (press: StreamingLlmPress, state: LayerState) =>
    overBudget(state, press.layerTarget(state), (h, n) => {
      const scores = Float64Array.from(state.positions(h));
      scores.fill(Number.POSITIVE_INFINITY, 0, Math.min(press.sink, press.layerTarget(state), n));
      return topKIndices(scores, press.layerTarget(state));
    });
  for (const [n, budget, sink] of [
    [10, 6, 2],
    [10, 6, 0],
    [10, 3, 4],
    [10, 9, 9],
    [10, 10, 2],
    [300, 37, 4],
    [5, 1, 4],
  ]) {
    // Two heads of different lengths (the second shorter by a third), each position a token's own.
    const state = fakeState({ keys: [rows(n, (i) => [i, 1]), rows(n - Math.floor(n / 3), (i) => [1, i])] });
    const press = new StreamingLlmPress({ budget, sink });
    const got = press.compress(state, step)?.map((k) => (k ? Array.from(k) : null));
    const want = ranked(press, state)?.map((k) => (k ? Array.from(k) : null));
    assert.deepEqual(got, want, `n ${n}, budget ${budget}, sink ${sink}`);
  }
});

test('K-norm keeps the lowest key norms, and the sink', () => {
  // norms: 5, 9, 1, 8, 2, 7, 3 ⇒ with sink 1 and budget 4: token 0 plus the three lowest of the rest (2, 4, 6).
  const norms = [5, 9, 1, 8, 2, 7, 3];
  const keep = new KnormPress({ budget: 4, sink: 1 }).compress(
    fakeState({ keys: [norms.map((x) => [0.6 * x, 0.8 * x])] }),
    step,
  );
  assert.deepEqual(Array.from(keep?.[0] ?? []), [0, 2, 4, 6]);
});

test('random eviction is seeded and keeps exactly the budget', () => {
  const s = fakeState({ keys: [rows(50, (i) => [i, 1]), rows(50, (i) => [1, i])] });
  const a = new RandomPress({ ratio: 5, seed: 3 }).compress(s, step);
  const b = new RandomPress({ ratio: 5, seed: 3 }).compress(s, step);
  const c = new RandomPress({ ratio: 5, seed: 4 }).compress(s, step);
  assert.equal(a?.[0]?.length, 10);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('L2KV keeps the lowest key norm of each lag partition and skips layers 0 and 1', () => {
  // S = 1, L = 2, ratio 2, 6 tokens: P = 2 partitions [1,2] [3,4] and remainder [5]; only [1,2] is scored
  // (against nothing: L2KV needs no reference) and keeps its lower norm, token 2 (norm 1 < 3).
  const keys = [
    [0, 0],
    [3, 0],
    [1, 0],
    [5, 0],
    [4, 0],
    [2, 0],
  ];
  const press = new L2KvPress({ ratio: 2, sink: 1, lag: 2 });
  assert.equal(press.compress(fakeState({ keys: [keys], layer: 1 }), step), null);
  assert.deepEqual(
    Array.from(press.compress(fakeState({ keys: [keys], layer: 2 }), step)?.[0] ?? []),
    [0, 2, 3, 4, 5],
  );
});

test('bad press options are rejected with clear errors', () => {
  assert.throws(
    () => pressFromSpec({ name: 'snapkvv', ratio: 2 }),
    /unknown press "snapkvv" \(known: full, lagkv/,
  );
  assert.throws(() => pressFromSpec({ name: 'streaming', ratio: 0.5 }), /ratio must be a number >= 1/);
  assert.throws(
    () => pressFromSpec({ name: 'knorm', budget: 0 }),
    /budget must be a whole number of tokens >= 1/,
  );
  assert.throws(() => pressFromSpec({ name: 'random' }), /needs a ratio or a budget/);
  assert.throws(() => pressFromSpec({ name: 'lagkv', budget: 100 }), /takes a ratio, not an absolute budget/);
  assert.throws(
    () => pressFromSpec({ name: 'lagkv', ratio: 4, lag: 1 }),
    /lag size L must be a whole number >= 2/,
  );
});

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 700 }, (_, i) => 3 + ((i * 17) % 290));

test('budget presses hold exactly their budget after prefill and after each decode step', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    for (const name of ['streaming', 'knorm', 'random']) {
      for (const spec of [
        { name, ratio: 4 },
        { name, budget: 100 },
      ]) {
        const ctx = model.createContext({ press: spec });
        ctx.evaluate(PROMPT);
        const target = (seen: number) => spec.budget ?? Math.ceil(seen / (spec.ratio as number));
        for (let h = 0; h < 2; h++)
          assert.equal(ctx.cache.length(1, h), target(700), `${name} after prefill`);
        for (let i = 0; i < 9; i++) ctx.evaluate([5 + i], 'decode');
        for (let h = 0; h < 2; h++)
          assert.equal(ctx.cache.length(0, h), target(709), `${name} after decoding`);
        assert.ok(Math.abs(ctx.keptFraction - target(709) / 709) < 1e-9);
        ctx.dispose();
      }
    }
  } finally {
    await model.close();
  }
});

test('every press at ratio 1 (or a budget beyond the context) generates exactly what the full cache does', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const reference = await model.createContext().complete(PROMPT, { maxTokens: 24 });
    for (const name of pressNames()) {
      const out = await model
        .createContext({ press: { name, ratio: 1 } })
        .complete(PROMPT, { maxTokens: 24 });
      assert.equal(out, reference, name);
    }
    for (const name of ['streaming', 'knorm', 'random']) {
      const out = await model
        .createContext({ press: { name, budget: 2048 } })
        .complete(PROMPT, { maxTokens: 24 });
      assert.equal(out, reference, `${name} budget 2048`);
    }
  } finally {
    await model.close();
  }
});
