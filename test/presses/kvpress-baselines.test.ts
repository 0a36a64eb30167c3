// SnapKV, PyramidKV and TOVA against kvpress (run by test/presses/fixtures/kvpress_baselines.py on the same
// attention tensors): the tokens each KV head keeps (average pooling, the window kept, PyramidKV's per-layer
// budgets, TOVA's head-averaged newest query), and kvpress's PyramidKV budgets over a grid.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionProbs, LayerState, Press } from '../../src/presses/press.js';
import { kvpressPyramidBudgets, PyramidKvPress } from '../../src/presses/pyramidkv.js';
import { SnapKvPress } from '../../src/presses/snapkv.js';
import { TovaPress } from '../../src/presses/tova.js';
import { fixture, value } from './fixture-tensors.js';

interface Selection {
  press: 'snapkv' | 'pyramidkv' | 'tova';
  n: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ratio: number;
  window?: number;
  kernel?: number;
  beta?: number;
  nLayers?: number;
  salt: number;
  /** `[layer][kvHead]` kept positions. */
  kept: number[][][];
}

interface BudgetRow {
  nLayers: number;
  n: number;
  ratio: number;
  window: number;
  beta: number;
  budgets: number[];
}

const data = fixture<{ selections: Selection[]; pyramidBudgets: BudgetRow[] }>('kvpress-baselines.json');

/** The causal softmax the script computes, one row per query position, from the same tables. */
function attentionRows(c: Selection): number[][][] {
  const g = c.nHeads / c.nKvHeads;
  const k = (h: number, t: number, j: number) => value(900 + c.salt, (h * c.n + t) * c.headDim + j);
  const q = (h: number, t: number, j: number) => value(950 + c.salt, (h * c.n + t) * c.headDim + j);
  return Array.from({ length: c.nHeads }, (_, h) =>
    Array.from({ length: c.n }, (_, t) => {
      const s = Array.from({ length: t + 1 }, (_, u) => {
        let dot = 0;
        for (let j = 0; j < c.headDim; j++) dot += q(h, t, j) * k(Math.floor(h / g), u, j);
        return dot / Math.sqrt(c.headDim);
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / sum);
    }),
  );
}

function state(c: Selection, layer: number, rows: number[][][]): LayerState {
  const d = c.headDim;
  const keys = new Float32Array(c.n * d);
  return {
    layer,
    nLayers: c.nLayers ?? 1,
    nKvHeads: c.nKvHeads,
    groupSize: c.nHeads / c.nKvHeads,
    headDim: d,
    seen: c.n,
    length: () => c.n,
    keys: () => keys,
    values: () => keys,
    positions: () => Int32Array.from({ length: c.n }, (_, i) => i),
    // The rows of the queries at `positions` (the window, or the newest token).
    attend: (_q, nQ, pos): AttentionProbs => {
      const probs = new Float32Array(c.nHeads * nQ * c.n);
      for (let h = 0; h < c.nHeads; h++)
        for (let i = 0; i < nQ; i++) probs.set(rows[h][pos[i]], (h * nQ + i) * c.n);
      return { probs, maxKeys: c.n };
    },
  };
}

function pressOf(c: Selection): Press {
  // kvpress keeps int(n·(1 − compression_ratio)) = n/ratio tokens per head (ratios dividing n here).
  if (c.press === 'tova') return new TovaPress({ ratio: c.ratio });
  const o = { ratio: c.ratio, window: c.window, kernel: c.kernel };
  return c.press === 'snapkv' ? new SnapKvPress(o) : new PyramidKvPress({ ...o, beta: c.beta });
}

for (const c of data.selections) {
  test(`${c.press} keeps what kvpress keeps per KV head (n ${c.n}, ratio ${c.ratio})`, () => {
    const rows = attentionRows(c);
    const press = pressOf(c);
    const width = c.nHeads * c.headDim;
    const got = c.kept.map((_, layer) => {
      const s = state(c, layer, rows);
      // One prefill call of the n tokens: the press sees their queries (values unused by the fake attend).
      press.observe?.(
        layer,
        {
          queries: new Float32Array(c.n * width),
          positions: Int32Array.from({ length: c.n }, (_, i) => i),
          nTokens: c.n,
          nHeads: c.nHeads,
          maxKeys: 0,
          probe: false,
        },
        s,
      );
      const keep = press.compress(s, { phase: 'prefill', newTokens: c.n, prefillDone: true });
      return (keep ?? []).map((k) => Array.from(k ?? []));
    });
    assert.deepEqual(got, c.kept);
  });
}

test('PyramidKV layer budgets: kvpress’s get_layer_budget over a grid of layers, lengths, ratios, windows, β', () => {
  assert.equal(data.pyramidBudgets.length, 240);
  let pyramids = 0;
  for (const r of data.pyramidBudgets) {
    const mine = kvpressPyramidBudgets(r.nLayers, r.n / r.ratio, r.n, r.window, r.beta);
    assert.deepEqual(mine, r.budgets, JSON.stringify(r));
    if (new Set(r.budgets).size > 1) pyramids++;
  }
  assert.ok(pyramids > 20 && pyramids < 240, `${pyramids} rows are pyramids, the rest uniform`);
});
