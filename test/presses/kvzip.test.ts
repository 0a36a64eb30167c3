// KVzip: the reconstruction requests, each chunk's scores from its probe's attention (restricted softmax,
// max over queries and the group) and the top-k over every layer and head, against numpy
// (fixtures/reference.py); then on a real model: the prompt runs twice, the budget's total is kept across layers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Model } from '../../src/model/model.js';
import { pressFromSpec } from '../../src/presses/index.js';
import { KVZIP_FIRST, KVZIP_NEXT, KVZIP_SUFFIX, KvzipPress } from '../../src/presses/kvzip.js';
import type { AttentionProbs, LayerState } from '../../src/presses/press.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

interface KvzipCase {
  groupSize: number;
  prompt: number[];
  chunkSize: number;
  probes: number[][];
  layers: { keys: number[][][]; probeKeys: number[][][][]; probeQueries: number[][][]; scores: number[][] }[];
  budget: number;
  kept: number[][][];
  keptLayerwise: number[][][];
}
const REF = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  kvzip: KvzipCase;
};
const C = REF.kvzip;
const encode = (text: string) =>
  text === KVZIP_FIRST ? [101, 102] : text === KVZIP_NEXT ? [103] : text === KVZIP_SUFFIX ? [104] : [];

/** A layer state over `heads[h]` = rows of [position, ...key], whose `attend` is a plain causal softmax. */
function softmaxState(layer: number, heads: number[][][], seen: number): LayerState {
  const d = heads[0][0].length - 1;
  const g = C.groupSize;
  const K = heads.map((rows) => Float32Array.from(rows.flatMap((r) => r.slice(1))));
  const P = heads.map((rows) => Int32Array.from(rows.map((r) => r[0])));
  return {
    layer,
    nLayers: C.layers.length,
    nKvHeads: heads.length,
    groupSize: g,
    headDim: d,
    seen,
    length: (h) => heads[h].length,
    keys: (h, from = 0) => K[h].subarray(from * d),
    values: (h, from = 0) => K[h].subarray(from * d),
    positions: (h) => P[h],
    attend(queries, nq, positions): AttentionProbs {
      const maxKeys = Math.max(...heads.map((r) => r.length));
      const nHeads = heads.length * g;
      const probs = new Float32Array(nHeads * nq * maxKeys);
      for (let qh = 0; qh < nHeads; qh++) {
        const h = Math.floor(qh / g);
        for (let t = 0; t < nq; t++) {
          const z = heads[h].map((_row, j) => {
            if (P[h][j] > positions[t]) return Number.NEGATIVE_INFINITY;
            let dot = 0;
            for (let c = 0; c < d; c++) dot += queries[(t * nHeads + qh) * d + c] * K[h][j * d + c];
            return dot / Math.sqrt(d);
          });
          const m = Math.max(...z);
          const e = z.map((v) => Math.exp(v - m));
          const sum = e.reduce((a, b) => a + b, 0);
          e.forEach((v, j) => {
            probs[(qh * nq + t) * maxKeys + j] = v / sum;
          });
        }
      }
      return { probs, maxKeys };
    },
  };
}

/** Runs the case's probes through `press` (one observation per probe, as one forward call). */
function probe(press: KvzipPress): void {
  const n = C.prompt.length;
  C.layers.forEach((L, layer) => {
    C.probes.forEach((p, k) => {
      const heads = L.keys.map((rows, h) => [
        ...rows.map((key, i) => [i, ...key]),
        ...L.probeKeys[k][h].map((key, t) => [n + t, ...key]),
      ]);
      const state = softmaxState(layer, heads, n + p.length);
      press.observe(
        layer,
        {
          queries: Float32Array.from(L.probeQueries[k].flat()),
          positions: Int32Array.from(p, (_, t) => n + t),
          nTokens: p.length,
          nHeads: state.nKvHeads * C.groupSize,
          maxKeys: 0,
          probe: true,
        },
        state,
      );
    });
  });
}

function compressAll(press: KvzipPress): number[][][] {
  const n = C.prompt.length;
  return C.layers.map((L, layer) => {
    const state = softmaxState(
      layer,
      L.keys.map((rows) => rows.map((key, i) => [i, ...key])),
      n,
    );
    const keep = press.compress(state, { phase: 'prefill', newTokens: n, prefillDone: true });
    return (keep ?? []).map((k) => Array.from(k ?? []));
  });
}

test('KVzip: the reconstruction requests, chunk by chunk, with the previous chunk’s last 8 tokens', () => {
  const press = new KvzipPress({ budget: C.budget, chunkSize: C.chunkSize });
  assert.deepEqual(press.reconstructionProbes(C.prompt, { start: 0, room: 100, encode }), C.probes);
  // No room for a whole chunk after the prompt: smaller chunks; none at all: a clear error.
  // (requests of at most 1 + 8 + 1 tokens: room 12 leaves chunks of 2)
  const small = press.reconstructionProbes(C.prompt, { start: 0, room: 12, encode });
  assert.equal(small.length, 5);
  assert.equal(Math.max(...small.map((p) => p.length)), 12);
  assert.throws(() => press.reconstructionProbes(C.prompt, { start: 0, room: 10, encode }), /no room/);
});

test('KVzip: scores and the top-k over all layers and heads match numpy; layerwise shares per layer', () => {
  const press = new KvzipPress({ budget: C.budget, chunkSize: C.chunkSize });
  press.reconstructionProbes(C.prompt, { start: 0, room: 100, encode });
  probe(press);
  const scores = (press as unknown as { scores: Map<number, Float64Array[]> }).scores;
  C.layers.forEach((L, l) => {
    L.scores.forEach((s, h) => {
      const got = scores.get(l)?.[h] ?? new Float64Array();
      s.forEach((v, i) => {
        assert.ok(Math.abs(got[i] - v) < 1e-6, `layer ${l} head ${h} token ${i}: ${got[i]} vs ${v}`);
      });
    });
  });
  const kept = compressAll(press);
  assert.deepEqual(kept, C.kept);
  const total = kept.flat().reduce((a, k) => a + k.length, 0);
  assert.equal(total, C.layers.length * 2 * C.budget, 'the budget’s total, unevenly');
  const lw = new KvzipPress({ budget: C.budget, chunkSize: C.chunkSize, layerwise: true });
  lw.reconstructionProbes(C.prompt, { start: 0, room: 100, encode });
  probe(lw);
  assert.deepEqual(compressAll(lw), C.keptLayerwise);
  // Without its probes (a context that never ran them) KVzip keeps everything.
  assert.equal(
    new KvzipPress({ budget: 2 }).compress(softmaxState(0, [[[0, 1, 0, 0, 0]]], 1), {
      phase: 'prefill',
      newTokens: 1,
      prefillDone: true,
    }),
    null,
  );
});

const dir = tempDir();
const modelPath = join(dir, 'm.gguf');
writeTinyModel(modelPath);
const PROMPT = Array.from({ length: 700 }, (_, i) => 3 + ((i * 17) % 290));

test('KVzip on a real model: the prompt is reconstructed in chunks, then the budget’s total is kept', async () => {
  const model = await Model.load(modelPath, { threads: 2 });
  try {
    let probed = 0;
    const press = new KvzipPress({ ratio: 4, chunkSize: 256 });
    const observe = press.observe.bind(press);
    press.observe = (layer, obs, state) => {
      if (layer === 0 && obs.probe) probed += obs.nTokens;
      observe(layer, obs, state);
    };
    const ctx = model.createContext({ press });
    // A question is not probed: KVzip is query-agnostic.
    await ctx.prefill(PROMPT, { question: [40, 41, 42] });
    // Three chunks of at most 256, each behind a request of some 60 byte tokens in this vocabulary.
    assert.ok(
      probed > 700 + 3 * 20 && probed < 700 + 3 * 100,
      `the prompt ran again: ${probed} probe tokens`,
    );
    const held = [0, 1].flatMap((l) => [0, 1].map((h) => ctx.cache.length(l, h)));
    assert.equal(
      held.reduce((a, b) => a + b, 0),
      4 * 175,
    );
    assert.ok(new Set(held).size > 1, `heads and layers keep different counts: ${held}`);
    assert.equal(ctx.tokens.length, 700, 'the probes were taken out');
    ctx.evaluate([5], 'decode');
    assert.equal(ctx.cache.length(0, 0), held[0] + 1);
    // At ratio 1 it changes nothing.
    const reference = await model.createContext().complete(PROMPT, { maxTokens: 12 });
    assert.equal(
      await model.createContext({ press: { name: 'kvzip', ratio: 1 } }).complete(PROMPT, { maxTokens: 12 }),
      reference,
    );
    // A context too short to reconstruct the prompt after it says so.
    const tight = model.createContext({ press: { name: 'kvzip', ratio: 2 }, contextSize: 705 });
    await assert.rejects(tight.prefill(PROMPT), /kvzip: no room after the prompt/);
    assert.throws(() => pressFromSpec({ name: 'kvzip', ratio: 2, chunkSize: 0 }), /chunkSize must be/);
  } finally {
    await model.close();
  }
});
