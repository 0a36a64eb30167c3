// LASER-KV: the budget arithmetic, the selection on hand-made probabilities and keys (exact stage, LSH recall
// and its ≥2-table rule, recency fill), the block-wise probing of Context, and cache lengths on a real model.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../src/generate/sampler.js';
import { Model } from '../../src/model/model.js';
import { type LaserKvOptions, LaserKvPress, laserBudget } from '../../src/presses/laserkv.js';
import { lshRecall, twoTableProbability } from '../../src/presses/lsh.js';
import type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from '../../src/presses/press.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';
import { attendState, observation, probsOf } from './attend-state.js';

const list = (k: ArrayLike<number> | null | undefined) => Array.from(k ?? []);

test('budget: B = ⌊2·r·bs·S/(bs+S)⌋, A = W = ⌊B/n⌋, G = B − 2⌊B/n⌋', () => {
  // 2·0.25·4096·8192/12288 = 1365.33; 1365/4 = 341.25.
  assert.deepEqual(laserBudget(0.25, 4096, 8192, 4), { B: 1365, A: 341, W: 341, G: 683 });
  // 2·0.25·256·600/856 = 89.72; 89/4 = 22.25.
  assert.deepEqual(laserBudget(0.25, 256, 600, 4), { B: 89, A: 22, W: 22, G: 45 });
  // S = bs: B = r·bs.
  assert.deepEqual(laserBudget(0.5, 1000, 1000, 5), { B: 500, A: 100, W: 100, G: 300 });
});

test('two-table collision probability u(p) and the LSH survivor rule', () => {
  assert.equal(twoTableProbability(1, 10, 8), 1);
  assert.equal(twoTableProbability(0, 10, 8), 0);
  // K = 1, Lt = 2: both tables collide with probability p² (= 0.25 at p = ½).
  assert.equal(twoTableProbability(0.5, 1, 2), 0.25);
  // K = 2, Lt = 3. Candidate 0 shares tables 0 and 1 with the query (4 of 6 bits): survives with
  // u(2/3) = 1 − (5/9)³ − 3·(4/9)·(5/9)² = 304/729. Candidate 1 shares only table 0: out.
  const query = Uint8Array.from([1, 1, 0, 0, 0, 1]);
  const cand = Uint8Array.from([1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0]);
  const s = lshRecall(cand, 2, query, 1, { bits: 2, tables: 3 });
  assert.ok(Math.abs(s[0] - 304 / 729) < 1e-12);
  assert.equal(s[1], Number.NEGATIVE_INFINITY);
});

test('LSH survivors: ≥ 2 tables where the candidate shares a bucket with any question token (random signatures)', () => {
  const rng = new Rng(7);
  const K = 2;
  const Lt = 4;
  const width = K * Lt;
  const sig = (n: number) => Uint8Array.from({ length: n * width }, () => (rng.next() < 0.5 ? 1 : 0));
  const cand = sig(200);
  const query = sig(3);
  const s = lshRecall(cand, 200, query, 3, { bits: K, tables: Lt });
  let survivors = 0;
  let onlyThroughUnion = 0;
  for (let c = 0; c < 200; c++) {
    // Per table: does some question token share the candidate's bucket? (the authors' union over the question)
    let tables = 0;
    let bestSingle = 0;
    const same = (q: number, t: number) => {
      for (let b = t * K; b < (t + 1) * K; b++)
        if (cand[c * width + b] !== query[q * width + b]) return false;
      return true;
    };
    for (let t = 0; t < Lt; t++) if ([0, 1, 2].some((q) => same(q, t))) tables++;
    for (let q = 0; q < 3; q++) {
      let n = 0;
      for (let t = 0; t < Lt; t++) if (same(q, t)) n++;
      bestSingle = Math.max(bestSingle, n);
    }
    assert.equal(s[c] > Number.NEGATIVE_INFINITY, tables >= 2, `candidate ${c}`);
    if (tables >= 2) survivors++;
    if (tables >= 2 && bestSingle < 2) onlyThroughUnion++;
  }
  assert.ok(survivors > 10 && survivors < 190, `${survivors} survivors: the rule was exercised both ways`);
  assert.ok(onlyThroughUnion > 0, 'some survive only through different question tokens');
});

// One block of 10 context tokens and a 2-token question at positions 10, 11. ratio 1.25, bs = 10:
// B = ⌊2·0.8·10·10/20⌋ = 8, A = W = 2, G = 4. Candidates 2..7; anchors 0, 1 and window 8, 9 stay.
// Exact scores (one head, both question rows): 2: .1, 3: .5, 4: .05, 5: .9, 6: 0, 7: .4.
const contextKeys = [
  [3, 3],
  [3, 3],
  [1, 0],
  [1, 0.1],
  [0, 1],
  [0.1, 1],
  [-1, -1],
  [1, -0.1],
  [3, 3],
  [3, 3],
];
const questionKeys = [
  [-1, -1],
  [-1, -1],
];
const probeRows = [
  [
    [0, 0, 0.1, 0.3, 0, 0.5, 0, 0.1, 0, 0, 0, 0],
    [0, 0, 0, 0.2, 0.05, 0.4, 0, 0.3, 0, 0, 0, 0],
  ],
];

function selectOne(o: Partial<LaserKvOptions>): number[] {
  const press = new LaserKvPress({ ratio: 1.25, blockSize: 10, ...o });
  // Two probe chunks of one question token each (the first sees 11 keys): scores add up over the chunks.
  let chunk = 0;
  const probe = attendState({ keys: [[...contextKeys, ...questionKeys]] }, () =>
    probsOf([[probeRows[0][chunk++]]]),
  );
  press.observe(0, observation(probe, [10], true), { ...probe, length: () => 11 });
  press.observe(0, observation(probe, [11], true), probe);
  const after = attendState({ keys: [contextKeys] }, () => probsOf([[[]]]));
  return list(press.compress(after, { phase: 'prefill', newTokens: 10, prefillDone: true })?.[0]);
}

test('exact ablation: anchors, the top G by the question’s attention, and the local window', () => {
  assert.deepEqual(selectOne({ ablation: 'exact' }), [0, 1, 2, 3, 5, 7, 8, 9]);
});

test('hybrid: top ⌊0.75·G⌋ = 3 exact (the most attended is always in), then the LSH recall of the rest', () => {
  // Exact: 5, 3, 7. The rest 2, 4, 6 (centre (0, 0)): token 6's key equals the question's, so it collides in
  // every table (u = 1); 2 and 4 are ~100°+ away and share no two 10-bit tables.
  assert.deepEqual(selectOne({}), [0, 1, 3, 5, 6, 7, 8, 9]);
});

test('LSH ablation: the survivors first, then the most recent candidates', () => {
  // Only token 6 survives; the other three slots go to the most recent candidates 7, 5, 4.
  assert.deepEqual(selectOne({ ablation: 'lsh' }), [0, 1, 4, 5, 6, 7, 8, 9]);
});

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 600 }, (_, i) => 3 + ((i * 17) % 290));
const QUESTION = [40, 41, 42, 43, 44];

/** Records what a block-wise press sees: the probes (layer 0) and the compression steps. */
class Recorder implements Press {
  readonly name = 'recorder';
  readonly wantsQueries = true;
  readonly probeInterval = 256;
  probes: { at: number; length: number; seen: number }[] = [];
  steps: StepInfo[] = [];
  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    if (layer === 0 && obs.probe)
      this.probes.push({ at: obs.positions[0], length: state.length(0), seen: state.seen });
  }
  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (state.layer === 0) this.steps.push({ ...step });
    return null;
  }
}

class SizeSpy extends LaserKvPress {
  sizes: number[] = [];
  override compress(state: LayerState, step: StepInfo): KeepSets | null {
    const keep = super.compress(state, step);
    if (keep && state.layer === 0) this.sizes.push(list(keep[0]).length);
    return keep;
  }
}

test('Context probes the question after every block, at positions after the whole prompt', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const rec = new Recorder();
    const ctx = model.createContext({ press: rec });
    await ctx.prefill(PROMPT, { question: QUESTION });
    assert.deepEqual(rec.probes, [
      { at: 600, length: 256 + 5, seen: 256 + 5 },
      { at: 600, length: 512 + 5, seen: 512 + 5 },
      { at: 600, length: 600 + 5, seen: 600 + 5 },
    ]);
    const blockSteps = rec.steps.filter((s) => s.newTokens === 256 || s.newTokens === 88);
    assert.deepEqual(
      blockSteps.map((s) => [s.newTokens, s.prefillDone]),
      [
        [256, false],
        [256, false],
        [256, false],
        [256, false],
        [88, false],
        [88, true],
      ],
      'each block: its forward chunk(s), then the compression after its probe',
    );
    assert.equal(ctx.cache.tokensSeen, 600);
    assert.equal(ctx.cache.length(1, 1), 600);
  } finally {
    await model.close();
  }
});

test('append mode: the cache grows by G per block and holds A + ΣG + W after the prefill, exactly', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    // S = 600, bs = 256, ratio 4: B = 89, A = W = 22, G = 45; blocks 256, 256, 88 (each has ≥ 45 candidates).
    for (const ablation of ['hybrid', 'exact', 'lsh'] as const) {
      const spy = new SizeSpy({ ratio: 4, blockSize: 256, ablation, seed: 1 });
      const ctx = model.createContext({ press: spy });
      await ctx.prefill(PROMPT, { question: QUESTION });
      assert.deepEqual(spy.sizes, [22 + 45 + 22, 22 + 90 + 22, 22 + 135 + 22], ablation);
      for (let l = 0; l < 2; l++) for (let h = 0; h < 2; h++) assert.equal(ctx.cache.length(l, h), 179);
      // Anchors are the first 22 positions; the window the last 22.
      const pos = ctx.cache.read(1, 0).positions;
      assert.deepEqual(
        Array.from(pos.subarray(0, 22)),
        Array.from({ length: 22 }, (_, i) => i),
      );
      assert.deepEqual(
        Array.from(pos.subarray(157)),
        Array.from({ length: 22 }, (_, i) => 578 + i),
      );
      // Decoding appends.
      for (let i = 0; i < 7; i++) ctx.evaluate([5 + i], 'decode');
      assert.equal(ctx.cache.length(0, 1), 186);
      ctx.dispose();
    }
  } finally {
    await model.close();
  }
});

test('recursive mode keeps a fixed cache of B = ⌊r·S⌋; same seed, same selection', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    // S = 600, ratio 4: B = ⌊600/4⌋ = 150 (A = W = 37, G = 76).
    const spy = new SizeSpy({ ratio: 4, blockSize: 256, mode: 'recursive' });
    const ctx = model.createContext({ press: spy });
    await ctx.prefill(PROMPT, { question: QUESTION });
    assert.deepEqual(spy.sizes, [150, 150, 150]);
    assert.equal(ctx.cache.length(1, 0), 150);

    const kept = async () => {
      const c = model.createContext({ press: { name: 'laserkv', ratio: 4, blockSize: 256, seed: 3 } });
      await c.prefill(PROMPT, { question: QUESTION });
      return Array.from(c.cache.read(0, 0).positions);
    };
    assert.deepEqual(await kept(), await kept());
  } finally {
    await model.close();
  }
});

test('without a question the prompt’s last tokens stand in for it, from prefill and from evaluate', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    const rec = new Recorder();
    Object.assign(rec, { questionFallback: 32 });
    const ctx = model.createContext({ press: rec });
    await ctx.prefill(PROMPT);
    // Probed after every block, at the positions after the prompt, with 32 tokens (the prompt's last 32).
    assert.deepEqual(
      rec.probes.map((p) => [p.at, p.length]),
      [
        [600, 256 + 32],
        [600, 512 + 32],
        [600, 600 + 32],
      ],
    );
    // The same appended-cache sizes as with a question of its own: A + ΣG + W.
    for (const run of [
      (c: ReturnType<typeof model.createContext>) => c.prefill(PROMPT),
      async (c: ReturnType<typeof model.createContext>) => c.evaluate(PROMPT),
    ]) {
      const spy = new SizeSpy({ ratio: 4, blockSize: 256 });
      const c = model.createContext({ press: spy });
      await run(c);
      assert.deepEqual(spy.sizes, [22 + 45 + 22, 22 + 90 + 22, 22 + 135 + 22]);
    }
    // An explicit empty question counts as none.
    const spy = new SizeSpy({ ratio: 4, blockSize: 256 });
    await model.createContext({ press: spy }).prefill(PROMPT, { question: '' });
    assert.equal(spy.sizes.length, 3);
  } finally {
    await model.close();
  }
});

test('divisor 2 is accepted; a budget leaving nothing to choose is a RangeError naming it', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    // S = 600, bs = 256, ratio 4: B = 89 (odd), so n = 2 leaves G = 1.
    const ok = model.createContext({ press: { name: 'laserkv', ratio: 4, blockSize: 256, divisor: 2 } });
    await ok.prefill(PROMPT, { question: QUESTION });
    assert.equal(ok.cache.length(0, 0), 44 + 3 * 1 + 44);
    // S = 500: B = ⌊2·0.25·256·500/756⌋ = ⌊84.66⌋ = 84 (even): G = 0.
    assert.equal(laserBudget(0.25, 256, 500, 2).G, 0);
    const refused = model.createContext({ press: { name: 'laserkv', ratio: 4, blockSize: 256, divisor: 2 } });
    await assert.rejects(
      refused.prefill(PROMPT.slice(0, 500), { question: QUESTION }),
      (e: Error) =>
        e instanceof RangeError && /B = 84, and divisor 2 leaves G = B − 2⌊B\/n⌋ = 0/.test(e.message),
    );
    assert.throws(
      () => new LaserKvPress({ ratio: 4, divisor: 1 }),
      /divisor must be a whole number >= 2, got 1/,
    );
  } finally {
    await model.close();
  }
});
