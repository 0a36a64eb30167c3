// The benchmark's fairness: one protocol for every press (the context is compressed, the question and the
// answer never evicted: the runner checks it on every run), equal budgets (--match-kept: each press calibrated
// on a stand-in model to keep the target fraction, which the real model then keeps too), presses with options
// in the grid, kept fractions in every table and a chart against them, and BABILong qa7's 'three'.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { keptCharts } from '../../src/bench/report/charts.js';
import { summaryCsv } from '../../src/bench/report/csv.js';
import { seriesLabel, summarize } from '../../src/bench/report/summary.js';
import { colourMap } from '../../src/bench/report/svg.js';
import { ratioText, summaryTable } from '../../src/bench/report/table.js';
import { expandGrid, jobKey, pressRuns } from '../../src/bench/runner/grid.js';
import { KeptMatcher } from '../../src/bench/runner/match.js';
import { runBench } from '../../src/bench/runner/run.js';
import { parsePresses } from '../../src/bench/runner/spec.js';
import type { SampleRecord } from '../../src/bench/runner/store.js';
import { BABILONG_LABELS, compareAnswers } from '../../src/bench/score/babilong.js';
import { GgmlType } from '../../src/gguf/types.js';
import { Model } from '../../src/model/model.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { parsePressText } from '../../src/presses/index.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const path = join(dir, 'tiny.gguf');
let model: Model;
before(async () => {
  writeSyntheticModel(path, {
    arch: 'llama',
    dim: 32,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    ffnDim: 64,
    vocabSize: 400,
    contextLength: 1024,
    type: GgmlType.F32,
    tiedOutput: true,
    seed: 11,
  });
  model = await Model.load(path, { threads: 1, batchSize: 128 });
});
after(() => model.close());

test('presses with options in a grid list: an item with = belongs to the press before it', () => {
  assert.deepEqual(parsePresses('full,lagkv:lag=64,sink=4,snapkv,laserkv:blockSize=256', 2), [
    'full',
    'lagkv:sink=4,lag=64',
    'snapkv',
    'laserkv:blockSize=256',
  ]);
  assert.throws(() => parsePresses('lag=64,full', 2), /--press: "lag=64" is an option without a press/);
  assert.throws(() => parsePresses('full,lagkv:lga=64', 2), /--press: lagkv: unknown option "lga"/);
  assert.throws(
    () => parsePresses('snapkv:window=0', 2),
    /--press: snapkv: window must be a whole number >= 1/,
  );
});

test('matched runs get their own resume keys; nominal keys are what they always were', () => {
  const spec = {
    tasks: ['passkey'],
    presses: ['full', 'lagkv'],
    ratios: [4],
    lengths: [512],
    samples: 1,
    modes: ['agnostic' as const],
  };
  const nominal = expandGrid(spec, 'm', () => false);
  const matched = expandGrid({ ...spec, matchKept: true }, 'm', () => false);
  assert.deepEqual(
    pressRuns({ ...spec, matchKept: true }).map((r) => [r.press, r.matchKept]),
    [
      ['full', false],
      ['lagkv', true],
    ],
  );
  assert.equal(matched[0].key, nominal[0].key, 'the full cache is the same run');
  assert.notEqual(matched[1].key, nominal[1].key);
  // The key of a nominal job is the hash of the coordinates it had before equal budgets existed.
  const { key: _, index: __, ...coords } = nominal[1];
  assert.equal(jobKey('m', coords), nominal[1].key);
});

test('the stand-in keeps what the real model keeps at the same ratio; calibration hits the target', async () => {
  const matcher = new KeptMatcher(model);
  try {
    const context = Array.from({ length: 700 }, (_, i) => 3 + ((i * 13) % 390));
    const question = [40, 41, 42, 43, 44, 45];
    for (const text of [
      'lagkv:lag=32',
      'laserkv',
      'laserkv:mode=recursive',
      'streaming',
      'snapkv',
      'pyramidkv',
    ]) {
      const spec = parsePressText(text);
      const mode = text.startsWith('laserkv') || text === 'snapkv' ? 'aware' : 'agnostic';
      const q = mode === 'aware' ? question.length : 0;
      const c = await matcher.calibrate(spec, 1 / 8, context.length, q, mode);
      assert.ok(Math.abs(c.keptFraction - 1 / 8) < 0.02, `${text}: ${c.keptFraction} at ratio ${c.ratio}`);
      // Kept counts do not depend on what the tokens are: the real model keeps exactly as much.
      const ctx = model.createContext({ press: { ...spec, ratio: c.ratio } });
      await ctx.prefill(context, { question: mode === 'aware' ? question : undefined });
      assert.equal(ctx.keptFraction, c.keptFraction, `${text}: real model at ratio ${c.ratio}`);
      ctx.dispose();
    }
    // LagKV at ratio 8 keeps far more (sink + last partition); matched, it runs at a higher ratio.
    const lag = await matcher.calibrate(parsePressText('lagkv:lag=32'), 1 / 8, 700, 0, 'agnostic');
    assert.ok(lag.ratio > 8, `lagkv runs at ${lag.ratio}`);
    // A target the press cannot reach: its nearest (LagKV's ⌊L/ratio⌋ = 0), not an endless search.
    const before = matcher.trials;
    const far = await matcher.calibrate(parsePressText('lagkv'), 1 / 64, 700, 0, 'agnostic');
    assert.ok(far.keptFraction > 1 / 32);
    assert.ok(matcher.trials - before <= 24);
    // Calibrations are remembered.
    const again = matcher.trials;
    await matcher.calibrate(parsePressText('lagkv'), 1 / 64, 700, 0, 'agnostic');
    assert.equal(matcher.trials, again);
  } finally {
    await matcher.close();
  }
});

test('--match-kept runs every press at the ratio that keeps 1/R; the protocol holds for every press', async () => {
  const out = tempDir();
  const presses = ['full', 'lagkv:lag=32', 'laserkv', 'streaming', 'h2o', 'tova', 'knorm', 'snapkv', 'adakv'];
  const base = {
    outDir: out,
    tasks: ['passkey'],
    presses,
    ratios: [4],
    lengths: [600],
    samples: 1,
    modes: ['agnostic' as const],
  };
  // Nominal: every press at ratio 4 (the runner checks that question and answer stay whole on every run).
  const nominal = await runBench(model, base);
  const matched = await runBench(model, { ...base, matchKept: true });
  assert.equal(matched.skipped, 1, 'the full cache ran once for both');
  const rec = (press: string, m: boolean) =>
    [...nominal.records, ...matched.records].find(
      (r) => r.press === press && (r.matchKept === true) === m,
    ) as SampleRecord;
  for (const press of presses.slice(1)) {
    const m = rec(press, true);
    assert.equal(m.ratio, 4);
    assert.ok(
      Math.abs(m.keptFraction - 0.25) < 0.02,
      `${press}: kept ${m.keptFraction} at ratio ${m.pressRatio}`,
    );
  }
  // Nominal LagKV and LASER-KV keep more than a quarter at ratio 4; matched, they ran at higher ratios.
  for (const press of ['lagkv:lag=32', 'laserkv']) {
    assert.ok(
      rec(press, false).keptFraction > 0.3,
      `${press} nominal keeps ${rec(press, false).keptFraction}`,
    );
    assert.ok((rec(press, true).pressRatio ?? 0) > 4);
  }
  // Tables say which budget mode a row is, and show the measured kept fraction.
  const rows = summarize([...nominal.records, ...matched.records], ['task', 'press', 'mode', 'ratio']);
  assert.equal(rows.length, 1 + 2 * (presses.length - 1));
  const laser = rows.find((r) => r.press === 'laserkv' && r.matchKept);
  assert.ok(laser);
  assert.equal(seriesLabel(laser), 'laserkv (aware, =kept)');
  assert.match(ratioText(laser), /^=1\/4 \([\d.]+\)$/);
  const table = summaryTable(rows);
  assert.match(table, /laserkv \(aware, =kept\)\s+=1\/4 \(/);
  assert.match(table, /\bkept\b/);
  const csv = summaryCsv(rows).split('\n');
  assert.equal(
    csv[0],
    'task,press,mode,budget,cache_type,ratio,press_ratio,length,samples,accuracy,kept_fraction,kv_bytes,peak_kv_bytes,ms_per_sample',
  );
  assert.ok(csv.some((l) => l.startsWith('passkey,laserkv,aware,matched,f16,4,')));
  assert.ok(csv.some((l) => l.startsWith('passkey,laserkv,aware,nominal,f16,4,4,')));
  // The chart against kept fraction places each run at its measured share.
  const charts = keptCharts([...nominal.records, ...matched.records], colourMap(presses));
  assert.equal(charts.length, 1);
  assert.match(charts[0], /accuracy vs kept fraction/);
  assert.match(charts[0], />25%</);
});

test('BABILong qa7 knows "three" (upstream since June 2024)', () => {
  assert.deepEqual([...BABILONG_LABELS.qa7].sort(), ['none', 'one', 'three', 'two']);
  assert.ok(compareAnswers('three', 'Three.', 'How many objects is Mary carrying?', BABILONG_LABELS.qa7));
  assert.ok(!compareAnswers('two', 'three', 'How many objects is Mary carrying?', BABILONG_LABELS.qa7));
});
