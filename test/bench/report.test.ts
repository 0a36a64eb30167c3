// The report from hand-made records: grouping and means, CSV columns, the terminal table, a self-contained
// HTML page (nothing fetched, token text escaped), and the page rendered in headless Chromium: charts present,
// the kept-token view reacting to its selectors, no console errors. A screenshot is left in the temp
// directory to look at.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CSV_COLUMNS,
  renderReport,
  seriesLabel,
  summarize,
  summaryCsv,
  summaryTable,
  writeReport,
} from '../../src/bench/report/index.js';
import type { KeptView } from '../../src/bench/runner/kept.js';
import type { Mode } from '../../src/bench/runner/spec.js';
import type { SampleRecord } from '../../src/bench/runner/store.js';
import { launchChromium, SKIP_CHROMIUM } from '../helpers/chromium.js';
import { tempDir } from '../helpers/tmp.js';

function records(): SampleRecord[] {
  const out: SampleRecord[] = [];
  const runs: [string, number, Mode][] = [
    ['full', 1, 'agnostic'],
    ['snapkv', 2, 'agnostic'],
    ['snapkv', 4, 'agnostic'],
    ['snapkv', 2, 'aware'],
    ['snapkv', 4, 'aware'],
    ['laserkv', 2, 'aware'],
    ['laserkv', 4, 'aware'],
  ];
  for (const task of ['passkey', 'vt'])
    for (const length of [1024, 2048])
      for (const depth of task === 'passkey' ? [0, 0.5, 1] : [null])
        for (const sample of [0, 1])
          for (const [press, ratio, mode] of runs) {
            // Scores fall with the ratio, rise with awareness, and the deepest needle is lost at 2k.
            const score =
              Number(sample === 0 || (ratio <= 2 && mode === 'aware') || press === 'full') *
              Number(!(depth === 1 && length === 2048 && press !== 'full'));
            out.push({
              key: `${task}/${length}/${depth}/${sample}/${press}/${ratio}/${mode}`,
              modelId: 'm',
              modelName: 'tiny.gguf',
              task,
              family: task === 'vt' ? 'ruler' : 'passkey',
              press,
              ratio,
              mode,
              length,
              depth,
              needleDepth: depth,
              sample,
              seed: 1_000_000 + sample,
              promptHash: `h${task}${length}${depth}${sample}`,
              promptTokens: length + 20,
              contextTokens: length,
              answer: score ? '12345' : 'nope, "quoted"',
              expected: ['12345'],
              score,
              keptFraction: 1 / ratio,
              kvBytes: (length * 1000) / ratio,
              peakKvBytes: length * 1000,
              prefillMs: 100,
              decodeMs: 50,
              generatedTokens: 5,
            });
          }
  return out;
}

function keptView(): KeptView {
  const tokens = ['', 'The', ' pass', ' key', ' is', ' 123', '45', '.', '\n', '</script><b>x</b>', ' end'];
  const mask = (bits: number[]) => {
    const b = Buffer.alloc(Math.ceil(tokens.length / 8));
    for (const i of bits) b[i >> 3] |= 1 << (i & 7);
    return b.toString('base64');
  };
  const all = tokens.map((_, i) => i);
  return {
    modelId: 'm',
    sample: {
      task: 'passkey',
      length: 1024,
      depth: 0,
      index: 0,
      seed: 1_000_000,
      promptHash: 'hpasskey102400',
    },
    nLayers: 2,
    nKvHeads: 2,
    tokens,
    runs: {
      'full|1|agnostic': {
        press: 'full',
        ratio: 1,
        mode: 'agnostic',
        keptFraction: 1,
        masks: [
          [mask(all), mask(all)],
          [mask(all), mask(all)],
        ],
      },
      'snapkv|2|aware': {
        press: 'snapkv',
        ratio: 2,
        mode: 'aware',
        keptFraction: 0.5,
        masks: [
          [mask([0, 1, 5, 6, 10]), mask([0, 2, 3, 5, 6, 9])],
          [mask([0, 5, 6, 7, 8]), mask([0, 1, 4, 5, 6, 10])],
        ],
      },
    },
  };
}

test('summary rows: one per task × press × mode × ratio, means over samples, grid order', () => {
  const rows = summarize(records(), ['task', 'press', 'mode', 'ratio']);
  assert.equal(rows.length, 2 * 7);
  assert.deepEqual(
    rows.slice(0, 7).map((r) => `${r.press}/${r.mode}/${r.ratio}`),
    [
      'full/agnostic/1',
      'snapkv/agnostic/2',
      'snapkv/agnostic/4',
      'snapkv/aware/2',
      'snapkv/aware/4',
      'laserkv/aware/2',
      'laserkv/aware/4',
    ],
  );
  const full = rows[0];
  assert.equal(full.samples, 2 * 3 * 2);
  assert.equal(full.accuracy, 1);
  assert.equal(full.peakKvBytes, 1536 * 1000);
  assert.equal(full.msPerSample, 150);
  assert.ok(rows[1].accuracy < 1);
});

test('CSV: the documented columns, one row per length, quoting where needed', () => {
  const csv = summaryCsv(summarize(records(), ['task', 'press', 'mode', 'ratio', 'length']));
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], CSV_COLUMNS.join(','));
  assert.deepEqual(lines[0].split(','), [
    'task',
    'press',
    'mode',
    'budget',
    'cache_type',
    'ratio',
    'press_ratio',
    'length',
    'samples',
    'accuracy',
    'kept_fraction',
    'kv_bytes',
    'peak_kv_bytes',
    'ms_per_sample',
  ]);
  assert.equal(lines.length, 1 + 2 * 7 * 2);
  assert.equal(lines[1], 'passkey,full,agnostic,nominal,,1,1,1024,6,1.0000,1.0000,1024000,1024000,150.0');
  const odd = summaryCsv([{ ...summarize(records(), ['task'])[0], task: 'a,"b"' }]);
  assert.match(odd, /^"a,""b""",/m);
});

test('terminal table: aligned columns, modes in the press label', () => {
  const t = summaryTable(summarize(records(), ['task', 'press', 'mode', 'ratio'])).split('\n');
  assert.match(t[0], /^task\s+press\s+ratio\s+n\s+accuracy\s+kept\s+KV\s+peak KV\s+s\/sample$/);
  assert.equal(t.length, 2 + 14);
  assert.ok(t.some((l) => /snapkv \(aware\)\s+4/.test(l)));
  assert.ok(t.some((l) => /^passkey\s+full\s+1\s+12\s+100\.0%/.test(l)));
});

test('the HTML is one self-contained file with every chart, the kept view escaped', () => {
  const html = renderReport({ records: records(), kept: keptView(), model: 'tiny <model>', date: 'now' });
  assert.doesNotMatch(html, /<link|\ssrc=|@import|url\(/);
  // The only URL is the SVG namespace.
  assert.deepEqual([...new Set(html.match(/https?:\/\/[^"'\s)]+/g))], ['http://www.w3.org/2000/svg']);
  assert.ok(html.includes('tiny &#60;model&#62;'));
  // The token text with </script> stays inside its JSON.
  assert.equal(html.match(/<\/script>/g)?.length, 2);
  // accuracy vs ratio and vs kept fraction: 2 tasks each; heatmaps: passkey × 7 press runs; memory: 2 lengths × 2
  assert.equal(html.match(/<svg class="chart"/g)?.length, 2 + 2 + 4);
  assert.match(html, /Every press follows one protocol: the context is compressed/);
  assert.equal(html.match(/<svg class="heatmap"/g)?.length, 7);
  assert.match(html, /query-agnostic and query-aware/);
  assert.match(html, /laserkv \(aware\)/);
});

test('the report renders in headless Chromium: charts, a working kept view, no console errors', {
  skip: SKIP_CHROMIUM,
}, async () => {
  const out = tempDir();
  const { html, csv } = writeReport(out, {
    records: records(),
    kept: keptView(),
    model: 'tiny.gguf',
    date: '2026-01-01T00:00:00Z',
    note: 'interrupted: 10 of 12 samples done',
  });
  assert.ok(existsSync(csv));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${html}`);
    assert.equal(await page.locator('svg.chart').count(), 8);
    assert.equal(await page.locator('svg.heatmap').count(), 7);
    assert.ok((await page.locator('svg.chart polyline').count()) > 0);
    assert.equal(await page.locator('#summary + table tbody tr').count(), 14);
    // The kept view: 11 token spans; "all" layers/heads shade by share; one head shows its own set.
    assert.equal(await page.locator('#kv-text span').count(), 11);
    assert.match((await page.locator('#kv-info').textContent()) ?? '', /^full: 11 of 11 tokens kept/);
    await page.selectOption('#kv-run', { label: 'snapkv (aware) 2×' });
    await page.selectOption('#kv-layer', '0');
    await page.selectOption('#kv-head', '1');
    assert.match((await page.locator('#kv-info').textContent()) ?? '', /6 of 11 tokens kept here/);
    assert.equal(await page.locator('#kv-text span.kp').count(), 6);
    assert.equal(await page.locator('#kv-text span.ev').first().textContent(), 'The');
    assert.equal(await page.locator('#kv-text span').nth(9).textContent(), '</script><b>x</b>');
    assert.deepEqual(errors, []);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith('file://')),
      [],
    );
    const shot = join(tmpdir(), 'kvsieve-bench-report.png');
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser.close();
  }
});

test('cache storage: rows of each type stay apart, non-default types are named in the label', () => {
  const base = records().filter((r) => r.press === 'full' && r.task === 'passkey');
  const typed = [
    ...base,
    ...base.map((r) => ({ ...r, key: `${r.key}-q8`, cacheType: 'q8_0' as const, score: 0 })),
  ];
  const rows = summarize(typed, ['task', 'press', 'mode', 'ratio']);
  assert.equal(rows.length, 2);
  assert.deepEqual(
    rows.map((r) => [seriesLabel(r), r.accuracy]),
    [
      ['full', 1],
      ['full [q8_0]', 0],
    ],
  );
  assert.equal(seriesLabel({ press: 'lagkv', mode: 'agnostic', cacheType: 'f16' }), 'lagkv (agnostic)');
});
