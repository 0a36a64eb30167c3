// The long-answer task (a 64-digit key repeated back) and the report's kept fraction over generated tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keptTraceCharts } from '../../src/bench/report/charts.js';
import { renderReport } from '../../src/bench/report/index.js';
import type { SampleRecord } from '../../src/bench/runner/store.js';
import { getTask, TASK_NAMES } from '../../src/bench/tasks/index.js';
import { scoreRecital } from '../../src/bench/tasks/recite.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';

test('recital score: the share of the key reproduced before the first wrong digit', () => {
  assert.equal(scoreRecital(' 12345678.', '12345678'), 1);
  assert.equal(scoreRecital(' 1234 5678', '12345678'), 0.5, 'the first run of digits only');
  assert.equal(scoreRecital('The key is 12395678', '12345678'), 3 / 8);
  assert.equal(scoreRecital('nothing', '12345678'), 0);
  assert.equal(scoreRecital('0123', '1234'), 0);
  assert.equal(scoreRecital('123456789', '12345678'), 1, 'digits past the key do not count against it');
});

test('recite: the passkey prompt with a 64-digit key, a 74-token answer budget, graded', () => {
  const tok = Tokenizer.fromGguf(new URL('../../models/kvsieve-demo.gguf', import.meta.url).pathname);
  assert.ok(TASK_NAMES.includes('recite'));
  const task = getTask('recite');
  assert.equal(task.maxNewTokens, 74);
  const s = task.generate(tok, { tokens: 1000, seed: 5 });
  const key = s.answers[0];
  assert.match(key, /^\d{64}$/);
  assert.ok(s.contextPart.includes(key));
  assert.equal(s.task, 'recite');
  assert.ok(s.id.startsWith('recite/1000/'));
  // The same prompt as passkey:64 for the same seed: the model is asked the question it knows.
  assert.equal(s.prompt, getTask('passkey:64').generate(tok, { tokens: 1000, seed: 5 }).prompt);
  assert.ok(Math.abs(s.tokens - 1000) <= 10);
  assert.equal(task.score(` ${key}.`, s), 1);
  assert.equal(task.score(` ${key.slice(0, 16)}x`, s), 0.25);
  const short = getTask('recite:16').generate(tok, { tokens: 500, seed: 5 });
  assert.match(short.answers[0], /^\d{16}$/);
  assert.equal(short.task, 'recite:16');
});

function rec(press: string, ratio: number, sample: number, trace: number[]): SampleRecord {
  return {
    key: `${press}/${ratio}/${sample}`,
    modelId: 'm',
    modelName: 'm.gguf',
    task: 'recite',
    family: 'passkey',
    press,
    ratio,
    mode: 'agnostic',
    length: 1024,
    depth: null,
    needleDepth: 0.5,
    sample,
    seed: sample,
    promptHash: `h${sample}`,
    promptTokens: 1000,
    contextTokens: 990,
    answer: '1',
    expected: ['1'],
    score: 1,
    keptFraction: trace[0],
    kvBytes: 1,
    peakKvBytes: 1,
    prefillMs: 1,
    decodeMs: 1,
    generatedTokens: trace.length,
    keptTrace: trace,
  };
}

test('report: the kept fraction over generated tokens, mean over samples, for long answers only', () => {
  const grow = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i / 1000);
  const saw = (n: number) => Array.from({ length: n }, (_, i) => 0.25 + (i % 8) / 1000);
  const records = [
    rec('full', 1, 0, new Array(40).fill(1)),
    rec('snapkv', 4, 0, grow(0.25, 40)),
    rec('snapkv', 4, 1, grow(0.27, 36)),
    rec('decoding', 4, 0, saw(40)),
    rec('decoding', 2, 0, saw(40)),
  ];
  const charts = keptTraceCharts(records, new Map());
  assert.equal(charts.length, 2, 'one chart per ratio');
  assert.match(charts[0], /recite at 2×: kept fraction while generating/);
  const four = charts[1];
  // SnapKV's mean at token 0 is (0.25 + 0.27)/2 = 26%; past token 35 only sample 0 is left.
  const snap = /<polyline[^>]*stroke="#444444"[^>]*points="([^"]+)"/.exec(four);
  assert.ok(snap, 'snapkv line');
  const pts = (snap?.[1] ?? '').split(' ');
  assert.equal(pts.length, 40);
  assert.match(four, /generated tokens/);
  assert.match(four, />0<\/text>.*>10<\/text>.*>20<\/text>.*>30<\/text>/s, 'linear ticks');
  // The full cache is the dashed reference at 100%.
  assert.match(four, /stroke-dasharray="5 4"[^>]*><title>full: 100%<\/title>/);
  // y of the first and 37th SnapKV points: 26% and 28.6% of the plot's height above the axis.
  const ys = pts.map((p) => Number(p.split(',')[1]));
  const axis = Number(/<line x1="78" x2="[\d.]+" y1="([\d.]+)"/.exec(four)?.[1]);
  const top = 28;
  const h = axis - top;
  assert.ok(Math.abs((axis - ys[0]) / h - 0.26) < 0.002, `${(axis - ys[0]) / h}`);
  assert.ok(Math.abs((axis - ys[36]) / h - 0.286) < 0.002, `${(axis - ys[36]) / h}`);
  const page = renderReport({ records, model: 'm', date: '2026-01-01' });
  assert.match(page, /id="generating"/);
  // Short answers (a 5-digit passkey) get no such section.
  const short = records.map((r) => ({ ...r, task: 'passkey', keptTrace: r.keptTrace?.slice(0, 8) }));
  assert.equal(keptTraceCharts(short, new Map()).length, 0);
  assert.doesNotMatch(renderReport({ records: short, model: 'm', date: '2026-01-01' }), /id="generating"/);
});
