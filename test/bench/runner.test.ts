// The benchmark runner's mechanics on a tiny random model (its answers are meaningless): option parsing, the
// grid's size and order, the JSONL fields, kept fractions, the kept-token side file, resuming after an abort
// or a torn last line, and the up-front refusals.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { expandGrid, type GridSpec, pressRuns, SEED_OFFSET } from '../../src/bench/runner/grid.js';
import type { KeptView } from '../../src/bench/runner/kept.js';
import { type BenchOptions, KEPT_FILE, RESULTS_FILE, runBench } from '../../src/bench/runner/run.js';
import { formatLength, parseLengths, parseModes, parseTasks } from '../../src/bench/runner/spec.js';
import { ResultStore, type SampleRecord } from '../../src/bench/runner/store.js';
import { GgmlType } from '../../src/gguf/types.js';
import { Model } from '../../src/model/model.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
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
  model = await Model.load(path, { threads: 1 });
});
after(() => model.close());

test('task ranges, k lengths and modes parse; bad items name the option', () => {
  assert.deepEqual(parseTasks('babilong:qa1-qa3,passkey'), [
    'babilong:qa1',
    'babilong:qa2',
    'babilong:qa3',
    'passkey',
  ]);
  assert.deepEqual(parseTasks('babilong:qa4-5'), ['babilong:qa4', 'babilong:qa5']);
  assert.deepEqual(parseTasks('niah_single_1-3'), ['niah_single_1', 'niah_single_2', 'niah_single_3']);
  assert.throws(() => parseTasks('babilong:qa5-qa1'), /backwards/);
  assert.deepEqual(parseLengths('1k,1.5k,300,1k'), [1024, 1536, 300]);
  assert.throws(() => parseLengths('2m'), /--length: "2m"/);
  assert.deepEqual(parseModes('both'), ['agnostic', 'aware']);
  assert.throws(() => parseModes('smart'), /--mode/);
  assert.equal(formatLength(2048), '2k');
  assert.equal(formatLength(1536), '1.5k');
  assert.equal(formatLength(300), '300');
});

test('the grid: full once per sample, laserkv aware only, depths for needle tasks, distinct keys', () => {
  const spec: GridSpec = {
    tasks: ['passkey', 'vt'],
    presses: ['full', 'snapkv', 'laserkv'],
    ratios: [2, 4, 8],
    lengths: [1024, 2048],
    depths: [0, 0.5, 1],
    samples: 3,
    modes: ['agnostic', 'aware'],
  };
  const runs = pressRuns(spec);
  // full 1 + snapkv 3 ratios × 2 modes + laserkv 3 ratios × aware
  assert.equal(runs.length, 1 + 6 + 3);
  assert.ok(runs.filter((r) => r.press === 'laserkv').every((r) => r.mode === 'aware'));
  const jobs = expandGrid(spec, 'model', (t) => t === 'passkey');
  // passkey: 2 lengths × 3 depths × 3 samples; vt: 2 lengths × 3 samples
  assert.equal(jobs.length, (2 * 3 * 3 + 2 * 3) * runs.length);
  assert.equal(new Set(jobs.map((j) => j.key)).size, jobs.length);
  assert.deepEqual([...new Set(jobs.map((j) => j.seed))], [SEED_OFFSET, SEED_OFFSET + 1, SEED_OFFSET + 2]);
  assert.ok(jobs.filter((j) => j.task === 'vt').every((j) => j.depth === null));
  // Another model file gives other keys.
  assert.notEqual(expandGrid(spec, 'other', () => false)[0].key, jobs[0].key);
  // Every run, the full cache included, once per cache storage type, each with keys of its own.
  const typed = pressRuns({ ...spec, cacheTypes: ['f16', 'q8_0', 'q4_0'] });
  assert.equal(typed.length, 3 * runs.length);
  assert.deepEqual(
    typed.filter((r) => r.press === 'full').map((r) => r.cacheType),
    ['f16', 'q8_0', 'q4_0'],
  );
  const typedJobs = expandGrid({ ...spec, cacheTypes: ['f16', 'q8_0'] }, 'model', (t) => t === 'passkey');
  assert.equal(new Set(typedJobs.map((j) => j.key)).size, 2 * jobs.length);
  assert.ok(typedJobs.filter((j) => j.cacheType === 'f16').every((j, i) => j.key === jobs[i].key));
});

const lines = (out: string): SampleRecord[] =>
  readFileSync(join(out, RESULTS_FILE), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SampleRecord);

const FIELDS = [
  'key',
  'modelId',
  'modelName',
  'task',
  'family',
  'press',
  'ratio',
  'mode',
  'cacheType',
  'length',
  'depth',
  'needleDepth',
  'sample',
  'seed',
  'promptHash',
  'promptTokens',
  'contextTokens',
  'answer',
  'expected',
  'score',
  'keptFraction',
  'kvBytes',
  'peakKvBytes',
  'prefillMs',
  'decodeMs',
  'generatedTokens',
  'keptTrace',
].sort();

function popcount(b64: string): number {
  let n = 0;
  for (const byte of Buffer.from(b64, 'base64')) for (let b = byte; b > 0; b >>= 1) n += b & 1;
  return n;
}

test('a run writes one JSONL line per job, resumes after an abort, and records the kept tokens', async () => {
  const out = tempDir();
  const opts: BenchOptions = {
    outDir: out,
    tasks: ['passkey', 'niah_single_1'],
    presses: ['full', 'streaming', 'snapkv', 'laserkv'],
    ratios: [2, 4],
    lengths: [512],
    depths: [0, 1],
    samples: 1,
    modes: ['agnostic', 'aware'],
  };
  // per sample: full + streaming 2×2 + snapkv 2×2 + laserkv 2 (aware); 2 tasks × 2 depths
  const total = 4 * 11;
  const ac = new AbortController();
  const first = await runBench(model, {
    ...opts,
    signal: ac.signal,
    onProgress: (done) => done === 5 && ac.abort(),
  });
  assert.equal(first.total, total);
  assert.equal(first.ran, 5);
  assert.ok(first.interrupted);
  assert.equal(lines(out).length, 5);

  const second = await runBench(model, opts);
  assert.equal(second.skipped, 5);
  assert.equal(second.ran, total - 5);
  assert.ok(!second.interrupted);
  const recs = lines(out);
  assert.equal(recs.length, total);
  assert.equal(second.records.length, total);
  for (const r of recs) {
    // The ratio a press ran at is recorded for every press but the full cache.
    const fields = r.press === 'full' ? FIELDS : [...FIELDS, 'pressRatio'].sort();
    assert.deepEqual(Object.keys(r).sort(), fields, `${r.press}`);
    if (r.press !== 'full') assert.equal(r.pressRatio, r.ratio);
    assert.ok(r.score >= 0 && r.score <= 1);
    assert.ok(r.contextTokens < r.promptTokens && r.peakKvBytes >= r.kvBytes && r.kvBytes > 0);
    assert.equal(r.seed, SEED_OFFSET);
    if (r.press === 'full') assert.equal(r.keptFraction, 1);
    else assert.ok(r.keptFraction < 1, `${r.press} ${r.ratio}: kept ${r.keptFraction}`);
    if (r.press === 'laserkv') assert.equal(r.mode, 'aware');
    // The kept fraction after the question and each generated token: by the protocol nothing is evicted
    // after the context, so every press's kept slots grow by one per layer and head with each token.
    assert.equal(r.keptTrace?.length, r.generatedTokens);
    const trace = r.keptTrace ?? [];
    const seen = (i: number) => r.promptTokens + i;
    if (r.press === 'full') assert.ok(trace.every((k) => k === 1));
    for (let i = 1; i < trace.length; i++) {
      const added = trace[i] * seen(i) - trace[i - 1] * seen(i - 1);
      assert.ok(
        Math.abs(added - 1) < 0.05,
        `${r.press} ${i}: ${added} tokens kept per head for one generated`,
      );
    }
    if (r.press === 'snapkv')
      for (let i = 1; i < trace.length; i++) assert.ok(trace[i] > trace[i - 1], `snapkv grows: ${trace}`);
    assert.ok(r.depth === 0 || r.depth === 1);
  }
  // Every press of a sample saw the same prompt; different samples different ones.
  const hashes = new Set(recs.map((r) => `${r.task}/${r.depth}/${r.promptHash}`));
  assert.equal(hashes.size, 4);
  // Ratio 4 keeps less than ratio 2.
  const kept = (press: string, ratio: number) =>
    recs.filter((r) => r.press === press && r.ratio === ratio).reduce((a, r) => a + r.keptFraction, 0);
  assert.ok(kept('streaming', 4) < kept('streaming', 2));

  // kept.json: the first sample, every press run, one mask per (layer, KV head), agreeing with keptFraction.
  const view = JSON.parse(readFileSync(join(out, KEPT_FILE), 'utf8')) as KeptView;
  assert.equal(view.sample.task, 'passkey');
  assert.equal(view.sample.depth, 0);
  assert.equal(Object.keys(view.runs).length, 11);
  const shown = recs.filter((r) => r.task === 'passkey' && r.depth === 0);
  assert.equal(view.tokens.length, shown[0].contextTokens);
  for (const r of shown) {
    const run = view.runs[`${r.press}|${r.ratio}|${r.mode}`];
    assert.equal(run.masks.length, 2);
    assert.ok(run.masks.every((m) => m.length === 2));
    const bits = run.masks.flat().reduce((a, m) => a + popcount(m), 0);
    assert.ok(Math.abs(bits / (4 * r.contextTokens) - r.keptFraction) < 1e-9, r.press);
  }

  // Nothing left to do; a grid with more samples runs only the new ones.
  const third = await runBench(model, opts);
  assert.equal(third.ran, 0);
  const more = await runBench(model, { ...opts, tasks: ['passkey'], samples: 2 });
  assert.equal(more.ran, 2 * 11);
  assert.equal(more.records.length, 4 * 11);
});

test('a torn last line is dropped when the file is opened again', () => {
  const out = tempDir();
  const file = join(out, RESULTS_FILE);
  const store = new ResultStore(file);
  const rec = { key: 'a', score: 1 } as SampleRecord;
  store.append(rec);
  appendFileSync(file, '{"key":"b","sco');
  const again = new ResultStore(file);
  assert.equal(again.records.length, 1);
  again.append({ ...rec, key: 'c' });
  assert.deepEqual(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as SampleRecord).key),
    ['a', 'c'],
  );
});

test('lengths past the context, and lengths a task cannot meet, are refused before anything runs', async () => {
  const out = tempDir();
  const base: BenchOptions = {
    outDir: out,
    tasks: ['passkey'],
    presses: ['full'],
    ratios: [2],
    lengths: [2048],
    samples: 1,
    modes: ['agnostic'],
  };
  await assert.rejects(runBench(model, base), /--length 2k exceeds the model's context of 1024 tokens/);
  await assert.rejects(
    runBench(model, { ...base, tasks: ['passkey', 'vt'], lengths: [300] }),
    /vt at 300: .*needs at least/,
  );
  await assert.rejects(
    runBench(model, { ...base, lengths: [300], showSample: 1 }),
    /--show-sample must be 0..0/,
  );
  assert.ok(!existsSync(join(out, RESULTS_FILE)));
});
