// The attention-scored presses on a real forward pass: exact cache lengths after prefill and after decoding
// (plain and query-aware), and the identity at ratio 1 with a question (the registry-wide identity without a
// question is in baselines.test.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Context } from '../../src/generate/context.js';
import { Model } from '../../src/model/model.js';
import type { PressSpec } from '../../src/presses/index.js';
import { kvpressPyramidBudgets, linearPyramidBudgets } from '../../src/presses/pyramidkv.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 700 }, (_, i) => 3 + ((i * 17) % 290));
const QUESTION = [40, 41, 42, 43, 44, 45];
const SPECS: PressSpec[] = [{ ratio: 4 }, { budget: 100 }].map((b) => ({ name: '', ...b }));
const target = (spec: PressSpec, seen: number) => spec.budget ?? Math.ceil(seen / (spec.ratio as number));
const lengths = (ctx: Context, layer: number) => [0, 1].map((h) => ctx.cache.length(layer, h));

async function withModel(f: (model: Model) => Promise<void>): Promise<void> {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    await f(model);
  } finally {
    await model.close();
  }
}

test('H2O and TOVA hold exactly their budget after prefill and after each decode step', () =>
  withModel(async (model) => {
    for (const name of ['h2o', 'tova']) {
      for (const base of SPECS) {
        const spec = { ...base, name };
        const ctx = model.createContext({ press: spec });
        ctx.evaluate(PROMPT);
        for (let l = 0; l < 2; l++)
          assert.deepEqual(lengths(ctx, l), [target(spec, 700), target(spec, 700)], name);
        for (let i = 0; i < 9; i++) {
          ctx.evaluate([5 + i], 'decode');
          const t = target(spec, 701 + i);
          for (let l = 0; l < 2; l++) assert.deepEqual(lengths(ctx, l), [t, t], `${name} decode ${i}`);
        }
        ctx.dispose();
      }
    }
  }));

test('SnapKV, PyramidKV and AdaKV(SnapKV) compress the prompt to their budget; decoding appends', () =>
  withModel(async (model) => {
    for (const base of SPECS) {
      for (const question of [undefined, QUESTION]) {
        const T = target(base, 700);
        const run = async (name: string, extra: Partial<PressSpec> = {}) => {
          const ctx = model.createContext({ press: { ...base, ...extra, name } });
          await ctx.prefill(PROMPT, { question });
          const after = [0, 1].map((l) => lengths(ctx, l));
          // Evicted slots go back to the heap: storage is within 16 slots of what each head holds.
          const slotBytes = (2 * 16 + 1) * 4;
          const held = after.flat().reduce((a, b) => a + b, 0);
          assert.ok(ctx.cache.bytes <= (held + 16 * after.flat().length) * slotBytes, `${name} frees memory`);
          for (let i = 0; i < 5; i++) ctx.evaluate([5 + i], 'decode');
          const decoded = [0, 1].map((l) => lengths(ctx, l));
          ctx.dispose();
          return { after, decoded };
        };
        const label = `${JSON.stringify(base)} question ${question !== undefined}`;
        const snap = await run('snapkv');
        assert.deepEqual(
          snap.after,
          [
            [T, T],
            [T, T],
          ],
          `snapkv ${label}`,
        );
        assert.deepEqual(snap.decoded, [
          [T + 5, T + 5],
          [T + 5, T + 5],
        ]);
        // kvpress's budgets: at 700 tokens T/β is below the window, so every layer keeps round(T).
        const pyramid = await run('pyramidkv');
        const T2 = base.budget ?? 700 / (base.ratio as number);
        const budgets = kvpressPyramidBudgets(2, T2, 700, 32, 20);
        assert.deepEqual(budgets, [Math.round(T2), Math.round(T2)]);
        assert.deepEqual(
          pyramid.after,
          [
            [budgets[0], budgets[0]],
            [budgets[1], budgets[1]],
          ],
          `pyramidkv ${label}`,
        );
        // The linear layout: T + (m − m/β) and T − (m − m/β) for m = T − 32 (rounded running sums), total 2T.
        const linear = await run('pyramidkv', { layout: 'linear' });
        const lin = linearPyramidBudgets(2, T, 700, 32, 20);
        assert.equal(lin[0] + lin[1], 2 * T);
        assert.ok(lin[0] > lin[1]);
        assert.deepEqual(
          linear.after,
          [
            [lin[0], lin[0]],
            [lin[1], lin[1]],
          ],
          `pyramidkv linear ${label}`,
        );
        // AdaKV: each layer's heads share 2T slots, each head at least ⌊0.2·T⌋.
        const ada = await run('adakv');
        for (const [a, b] of ada.after) {
          assert.equal(a + b, 2 * T, `adakv ${label}`);
          assert.ok(Math.min(a, b) >= Math.floor(0.2 * T));
        }
        for (let l = 0; l < 2; l++)
          assert.equal(ada.decoded[l][0] + ada.decoded[l][1], ada.after[l][0] + ada.after[l][1] + 10);
      }
    }
  }));

test('at ratio 1 every attention press, query-aware, generates exactly what the full cache does', () =>
  withModel(async (model) => {
    const answer = async (press?: PressSpec) => {
      const ctx = model.createContext({ press });
      await ctx.prefill(PROMPT, { question: QUESTION });
      const out = await ctx.complete(QUESTION, { maxTokens: 16 });
      assert.equal(ctx.cache.length(1, 1), ctx.tokens.length, 'nothing evicted');
      return out;
    };
    const reference = await answer();
    for (const name of ['h2o', 'tova', 'snapkv', 'pyramidkv', 'adakv', 'laserkv'])
      assert.equal(await answer({ name, ratio: 1 }), reference, name);
  }));
