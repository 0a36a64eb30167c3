// LagKV against its authors' cache (AI-Lab-China-Merchants-Bank/LagKV lag_kv.py, run by
// test/presses/fixtures/lagkv_authors.py on the same tensors): the positions every (layer, KV head) holds after
// each update of a full prefill, a chunked prefill, decode steps, another ratio, and a skipped layer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LagKvPress } from '../../src/presses/lagkv.js';
import type { LayerState } from '../../src/presses/press.js';
import { fixture, value } from './fixture-tensors.js';

interface Scenario {
  name: string;
  ratio: number;
  updates: number[];
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  sink: number;
  lag: number;
  skipLayers: number[];
  tokens: number;
  salt: number;
  /** After each update: `[layer][kvHead]` sorted positions. */
  held: number[][][][];
}

const { scenarios } = fixture<{ scenarios: Scenario[] }>('lagkv-authors.json');

function replay(s: Scenario): number[][][][] {
  const { nLayers: L, nKvHeads: H, tokens: T, headDim: d } = s;
  const at = (stream: number, l: number, h: number, t: number, j: number) =>
    value(stream + s.salt, ((l * H + h) * T + t) * d + j);
  const press = new LagKvPress({ ratio: s.ratio, sink: s.sink, lag: s.lag, skipLayers: s.skipLayers });
  const held: number[][][] = Array.from({ length: L }, () => Array.from({ length: H }, () => []));
  const state = (l: number, seen: number): LayerState => {
    const rows = (stream: number, h: number) =>
      Float32Array.from({ length: held[l][h].length * d }, (_, i) =>
        at(stream, l, h, held[l][h][Math.floor(i / d)], i % d),
      );
    return {
      layer: l,
      nLayers: L,
      nKvHeads: H,
      groupSize: 1,
      headDim: d,
      seen,
      length: (h) => held[l][h].length,
      keys: (h, from = 0) => rows(700, h).subarray(from * d),
      values: (h, from = 0) => rows(800, h).subarray(from * d),
      positions: (h) => Int32Array.from(held[l][h]),
    };
  };
  const out: number[][][][] = [];
  let start = 0;
  for (const n of s.updates) {
    for (let l = 0; l < L; l++) {
      for (const P of held[l]) for (let t = start; t < start + n; t++) P.push(t);
      // Context compresses after each forward call (useThenCompress, the authors' default).
      const keep = press.compress(state(l, start + n), {
        phase: n > 1 ? 'prefill' : 'decode',
        newTokens: n,
        prefillDone: false,
      });
      keep?.forEach((k, h) => {
        if (k) held[l][h] = Array.from(k, (i) => held[l][h][i]);
      });
    }
    start += n;
    out.push(held.map((layer) => layer.map((P) => [...P])));
  }
  return out;
}

for (const s of scenarios) {
  test(`LagKV holds what the authors’ cache holds after every update: ${s.name}`, () => {
    const mine = replay(s);
    assert.equal(mine.length, s.held.length);
    mine.forEach((step, i) => {
      assert.deepEqual(step, s.held[i], `after update ${i + 1} of ${s.updates.length}`);
    });
  });
}

test('the fixtures exercise compression: every scenario evicts, and the skipped layer keeps all', () => {
  for (const s of scenarios) {
    const last = s.held[s.held.length - 1];
    assert.ok(last[0][0].length < s.tokens, `${s.name} compresses layer 0`);
    // Heads choose differently (the kept sets are per head).
    assert.ok(
      s.held.some((step) => step[0][0].join() !== step[0][1].join()),
      `${s.name}: heads differ`,
    );
  }
  const skipped = scenarios.find((s) => s.skipLayers.includes(1));
  assert.equal(skipped?.held.at(-1)?.[1][0].length, skipped?.tokens);
});
