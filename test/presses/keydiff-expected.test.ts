// KeyDiff and Expected Attention (and AdaKV over it) against values computed independently with numpy from
// kvpress's formulas (fixtures/reference.py → reference.json), on small fixed caches; then on a real forward
// pass, exact cache lengths and the identity at ratio 1.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KvCache } from '../../src/cache/kv-cache.js';
import { Heap } from '../../src/kernels/heap.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { Model } from '../../src/model/model.js';
import { AdaKvPress } from '../../src/presses/adakv.js';
import { ExpectedAttentionPress } from '../../src/presses/expected-attention.js';
import { pressFromSpec } from '../../src/presses/index.js';
import { KeyDiffPress } from '../../src/presses/keydiff.js';
import type { AttentionObservation, LayerState, Press, Rotary } from '../../src/presses/press.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';
import { randomF32, rng } from '../kernels/helpers.js';
import { fakeState } from './fake-state.js';

interface ExpectedCase {
  layout: 'normal' | 'neox';
  nSink: number;
  nFuture: number;
  epsilon: number;
  useCovariance: boolean;
  useVnorm: boolean;
  invFreq: number[];
  groupSize: number;
  queries: number[][];
  positions: number[];
  keys: number[][][];
  values: number[][][];
  seen: number;
  scores: number[][];
}
const REF = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  keydiff: {
    keys: number[][][];
    budget: number;
    blockSize: number;
    scores: number[][];
    kept: number[][];
    keptOneBlock: number[][];
  };
  expected: ExpectedCase[];
  adakvExpected: { budget: number; safeguard: number; kept: number[][] };
};

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-6) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
};
const list = (k: ArrayLike<number> | null | undefined) => Array.from(k ?? []);
const done = { phase: 'prefill' as const, newTokens: 12, prefillDone: true };

test('KeyDiff: −cos(key, mean unit key) per head, matching numpy', () => {
  const K = REF.keydiff;
  const press = new KeyDiffPress({ budget: K.budget, blockSize: K.blockSize });
  const scores = press.headScores(fakeState({ keys: K.keys }), done);
  K.scores.forEach((s, h) => {
    close(scores?.[h] ?? [], s);
  });
});

test('KeyDiff: BlockPress’s block-wise selection (block 3, budget 4) keeps numpy’s sets', () => {
  const K = REF.keydiff;
  const state = fakeState({ keys: K.keys });
  const keep = new KeyDiffPress({ budget: K.budget, blockSize: K.blockSize }).compress(state, done);
  assert.deepEqual(keep?.map(list), K.kept);
  // One block over everything: the top 4 of one scoring of the whole head (a different set).
  const once = new KeyDiffPress({ budget: K.budget, blockSize: 1000 }).compress(state, done);
  assert.deepEqual(once?.map(list), K.keptOneBlock);
  assert.notDeepEqual(K.kept, K.keptOneBlock);
  // Decoding appends; within the budget nothing changes.
  assert.equal(
    new KeyDiffPress({ budget: 4 }).compress(state, { phase: 'decode', newTokens: 1, prefillDone: false }),
    null,
  );
  assert.equal(new KeyDiffPress({ budget: 11 }).compress(state, done), null);
});

function expectedState(c: ExpectedCase): LayerState {
  return fakeState({ keys: c.keys, values: c.values, groupSize: c.groupSize, seen: c.seen });
}

function observeCase(press: ExpectedAttentionPress, c: ExpectedCase, state: LayerState): void {
  const nHeads = state.nKvHeads * c.groupSize;
  const rope = { invFreq: Float64Array.from(c.invFreq), layout: c.layout, dims: state.headDim };
  // Two calls (a chunked prefill): the statistics are running sums over both.
  const cut = 5;
  for (const [from, to] of [
    [0, cut],
    [cut, c.queries.length],
  ]) {
    const obs: AttentionObservation = {
      queries: Float32Array.from(c.queries.slice(from, to).flat()),
      positions: Int32Array.from(c.positions.slice(from, to)),
      nTokens: to - from,
      nHeads,
      maxKeys: 0,
      probe: false,
      rope,
    };
    press.observe(0, obs, state);
  }
  // A probe (the question in query-aware mode) is not part of the statistics.
  press.observe(
    0,
    {
      queries: new Float32Array(3 * nHeads * state.headDim).fill(9),
      positions: Int32Array.from([12, 13, 14]),
      nTokens: 3,
      nHeads,
      maxKeys: 0,
      probe: true,
      rope,
    },
    state,
  );
}

test('Expected Attention: scores from un-rotated query statistics and the mean future RoPE, matching numpy', () => {
  for (const c of REF.expected) {
    const state = expectedState(c);
    const press = new ExpectedAttentionPress({
      budget: 6,
      nSink: c.nSink,
      nFuture: c.nFuture,
      epsilon: c.epsilon,
      useCovariance: c.useCovariance,
      useVnorm: c.useVnorm,
    });
    observeCase(press, c, state);
    assert.equal(
      press.headScores(state, { ...done, prefillDone: false }),
      null,
      'not before the prefill ends',
    );
    const scores = press.headScores(state, done);
    const label = `${c.layout} sink ${c.nSink} future ${c.nFuture}`;
    c.scores.forEach((s, h) => {
      const got = scores?.[h] ?? new Float64Array();
      assert.ok(
        got.subarray(0, c.nSink).every((v) => v === Number.POSITIVE_INFINITY),
        `${label}: sinks kept`,
      );
      close(got.subarray(c.nSink), s, 1e-6);
    });
    // The statistics were used up: the next moment needs new queries.
    assert.equal(press.headScores(state, done), null);
  }
});

test('Expected Attention keeps the sinks and the top scores; AdaKV over it shares the budget as kvpress', () => {
  const c = REF.expected[0];
  const state = expectedState(c);
  const press = new ExpectedAttentionPress({ budget: 6 });
  observeCase(press, c, state);
  const keep = press.compress(state, done);
  c.scores.forEach((s, h) => {
    const order = s.map((v, i) => [v, i + c.nSink]).sort((a, b) => b[0] - a[0]);
    const top = order.slice(0, 6 - c.nSink).map(([, i]) => i);
    assert.deepEqual(list(keep?.[h]), [0, 1, 2, 3, ...top.sort((a, b) => a - b)]);
  });
  const A = REF.adakvExpected;
  const ada = new AdaKvPress(new ExpectedAttentionPress({ budget: A.budget }), { safeguard: A.safeguard });
  observeCase(ada.inner as ExpectedAttentionPress, c, state);
  assert.deepEqual(ada.compress(state, done)?.map(list), A.kept);
});

test('Expected Attention refuses observations without their rotary embedding', () => {
  const state = fakeState({ keys: [[[1, 0]]] });
  const obs = { queries: new Float32Array(2), positions: Int32Array.from([0]), nTokens: 1, nHeads: 1 };
  assert.throws(
    () => new ExpectedAttentionPress({ ratio: 2 }).observe(0, { ...obs, maxKeys: 0, probe: false }, state),
    /without their rotary embedding/,
  );
});

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 700 }, (_, i) => 3 + ((i * 17) % 290));

// The statistics on a model's state go through its batched product kernel (f32, SIMD), over queries shifted
// by each head's first one; checked against the same press on a plain state (f64 loops), on queries with a
// few large-mean channels (as real queries have), fed in one call and one query at a time (the path of
// decoding, where queries wait to be folded in as one product).
test("Expected Attention through the model's product kernel: the loops' scores, in one call or token by token", async () => {
  const [nKv, group, d, nKeys, nQ] = [2, 3, 64, 300, 100];
  const H = nKv * group;
  const next = rng(5);
  const keys = randomF32(nKeys * nKv * d, next);
  const values = randomF32(nKeys * nKv * d, next);
  const mean = Float32Array.from({ length: H * d }, (_, i) => (i % 7 === 0 ? 30 : 0));
  const pre = Float32Array.from({ length: nQ * H * d }, (_, i) => mean[i % (H * d)] + next() * 2 - 1);
  const rope = {
    invFreq: Float64Array.from({ length: d / 2 }, (_, i) => 10000 ** (-i / 32)),
    layout: 'neox' as const,
    dims: d,
  };
  const positions = Int32Array.from({ length: nQ }, (_, i) => nKeys - nQ + i);
  const heap = new Heap(32 << 20);
  const backend = await createWasmBackend(heap, { threads: 2 });
  try {
    const cache = new KvCache(backend, { nLayers: 1, nKvHeads: nKv, headDim: d }, { k: 'f32', v: 'f32' });
    cache.append(
      0,
      keys,
      values,
      Int32Array.from({ length: nKeys }, (_, i) => i),
      nKeys,
    );
    const perHead = (x: Float32Array) =>
      Array.from({ length: nKv }, (_, h) =>
        Array.from({ length: nKeys }, (_, t) =>
          Array.from(x.subarray((t * nKv + h) * d, (t * nKv + h + 1) * d)),
        ),
      );
    const plain = fakeState({ keys: perHead(keys), values: perHead(values), groupSize: group, seen: nKeys });
    const scores = (state: LayerState, calls: [number, number][]) => {
      const press = new ExpectedAttentionPress({ ratio: 2 });
      for (const [from, to] of calls)
        press.observe(
          0,
          {
            queries: new Float32Array((to - from) * H * d),
            preRopeQueries: pre.subarray(from * H * d, to * H * d),
            positions: positions.subarray(from, to),
            nTokens: to - from,
            nHeads: H,
            maxKeys: 0,
            probe: false,
            rope,
          },
          state,
        );
      return press.headScores(state, done) ?? [];
    };
    const want = scores(plain, [[0, nQ]]);
    // Not a degenerate case: the mass is spread over many keys.
    for (const w of want) assert.ok(w.subarray(4).filter((v) => v > 0.1 / nKeys).length > 30);
    const oneByOne = Array.from({ length: nQ }, (_, i): [number, number] => [i, i + 1]);
    for (const [label, got] of [
      ['kernel, one call', scores(cache.layerState(0, group), [[0, nQ]])],
      ['kernel, token by token', scores(cache.layerState(0, group), oneByOne)],
      ['loops, token by token', scores(plain, oneByOne)],
    ] as const)
      want.forEach((w, h) => {
        const finite = (a: Float64Array) => Array.from(a.subarray(4));
        const mag = Math.max(...finite(w));
        const err = Math.max(...finite(w).map((v, j) => Math.abs(v - got[h][j + 4])));
        assert.ok(err <= 1e-4 * mag, `${label}, head ${h}: max |Δ| ${err} of ${mag}`);
      });
  } finally {
    await backend.close();
  }
});

test('A press that asks gets the queries before RoPE: RoPE undone on the queries it sees', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const seen: AttentionObservation[] = [];
    const press: Press = {
      name: 'spy',
      wantsQueries: true,
      wantsPreRopeQueries: true,
      observe: (_layer, obs) => {
        seen.push({ ...obs, queries: obs.queries.slice(), preRopeQueries: obs.preRopeQueries?.slice() });
      },
      compress: () => null,
    };
    const ctx = model.createContext({ press });
    ctx.evaluate(PROMPT.slice(0, 40));
    assert.ok(seen.length > 0);
    for (const obs of seen) {
      const rope = obs.rope as Rotary;
      const d = obs.queries.length / obs.nTokens / obs.nHeads;
      const pre = obs.preRopeQueries as Float32Array;
      let err = 0;
      for (let t = 0; t < obs.nTokens; t++)
        for (let h = 0; h < obs.nHeads; h++)
          for (let i = 0; i < rope.dims / 2; i++) {
            // RoFormer: the pair (a, b) at position p turned by p·θᵢ is (a cos − b sin, a sin + b cos).
            const [a, b] = rope.layout === 'normal' ? [2 * i, 2 * i + 1] : [i, i + rope.dims / 2];
            const o = (t * obs.nHeads + h) * d;
            const angle = obs.positions[t] * rope.invFreq[i];
            const ra = pre[o + a] * Math.cos(angle) - pre[o + b] * Math.sin(angle);
            const rb = pre[o + a] * Math.sin(angle) + pre[o + b] * Math.cos(angle);
            err = Math.max(err, Math.abs(ra - obs.queries[o + a]), Math.abs(rb - obs.queries[o + b]));
          }
      assert.ok(err < 1e-4, `max |Δ| ${err}`);
      assert.notDeepEqual(Array.from(pre), Array.from(obs.queries));
    }
    ctx.dispose();
  } finally {
    await model.close();
  }
});

test('KeyDiff and Expected Attention hold their budget on a real model; AdaKV(expected) shares it', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    for (const spec of [{ ratio: 4 }, { budget: 100 }]) {
      const T = spec.budget ?? Math.ceil(700 / 4);
      for (const name of ['keydiff', 'expected']) {
        const ctx = model.createContext({ press: { name, ...spec } });
        // KeyDiff compresses after every 256-token chunk (its cache never holds much more than its budget).
        let most = 0;
        for (let i = 0; i < 700; i += 256) {
          ctx.evaluate(PROMPT.slice(i, i + 256), 'prefill');
          most = Math.max(most, ctx.cache.length(0, 0));
        }
        for (let l = 0; l < 2; l++)
          for (let h = 0; h < 2; h++)
            assert.equal(ctx.cache.length(l, h), T, `${name} ${JSON.stringify(spec)}`);
        ctx.evaluate([5], 'decode');
        assert.equal(ctx.cache.length(1, 1), T + 1, `${name} appends while decoding`);
        ctx.dispose();
      }
      const ctx = model.createContext({ press: { name: 'adakv', inner: 'expected', ...spec } });
      ctx.evaluate(PROMPT);
      for (let l = 0; l < 2; l++) assert.equal(ctx.cache.length(l, 0) + ctx.cache.length(l, 1), 2 * T);
      ctx.dispose();
    }
  } finally {
    await model.close();
  }
});

test('KeyDiff, Expected Attention and AdaKV(expected) at ratio 1 generate exactly what the full cache does', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const reference = await model.createContext().complete(PROMPT, { maxTokens: 16 });
    for (const spec of [{ name: 'keydiff' }, { name: 'expected' }, { name: 'adakv', inner: 'expected' }])
      assert.equal(
        await model.createContext({ press: { ...spec, ratio: 1 } }).complete(PROMPT, { maxTokens: 16 }),
        reference,
        spec.name,
      );
    assert.throws(() => pressFromSpec({ name: 'keydiff', ratio: 2, blockSize: 0 }), /blockSize must be/);
    assert.throws(() => pressFromSpec({ name: 'expected', ratio: 2, nFuture: -1 }), /nFuture must be/);
  } finally {
    await model.close();
  }
});
