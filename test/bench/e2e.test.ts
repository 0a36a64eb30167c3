// `kvsieve bench` as a user runs it, on a tiny random model: every task family and every press in one run
// (query-agnostic, so LASER-KV shows up labelled query-aware), the files it writes, the report in headless
// Chromium, a rerun that skips everything, Ctrl-C mid-run leaving a file the rerun resumes from, and the
// up-front refusals. The answers are noise; the mechanics are what is checked. Budget: well under 60 s.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { SummaryRow } from '../../src/bench/report/summary.js';
import type { SampleRecord } from '../../src/bench/runner/store.js';
import { BENCH_HELP, benchCommand } from '../../src/cli/commands/bench.js';
import { isUserError } from '../../src/cli/errors.js';
import { GgmlType } from '../../src/gguf/types.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { pressNames } from '../../src/presses/index.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { hasShared, sharedPath } from '../helpers/shared.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const model = join(dir, 'tiny.gguf');
// 4k context: BABILong's 1536 counts the context alone, and CWE needs ~1.5k tokens in this vocabulary (with RULER's
// room for the answer).
writeSyntheticModel(model, {
  arch: 'llama',
  dim: 32,
  nLayers: 3, // L2KV leaves layers 0 and 1 alone
  nHeads: 4,
  nKvHeads: 2,
  ffnDim: 64,
  vocabSize: 400,
  contextLength: 4096,
  type: GgmlType.F32,
  tiedOutput: true,
  seed: 5,
});
const longbench = join(dir, 'hotpotqa.jsonl');
writeFileSync(
  longbench,
  [1, 2, 3]
    .map((i) =>
      JSON.stringify({
        input: `Who met Bob on day ${i}?`,
        context: `Passage ${i}: Alice met Bob in the harbour. `.repeat(120),
        answers: ['Alice'],
        dataset: 'hotpotqa',
      }),
    )
    .join('\n'),
);

// The families: passkey, RULER (a needle task, variable tracking, common words), BABILong (with ../shared),
// LongBench.
const TASKS = [
  'passkey',
  'niah_single_1',
  'vt',
  'cwe',
  ...(hasShared ? ['babilong:qa1'] : []),
  'longbench:hotpotqa',
];
const COMMON = ['-m', model, '-t', '1', '--longbench', longbench, '--babi', sharedPath('data/babi/en')];

function kvsieve(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const jsonl = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SampleRecord);

interface JsonSummary {
  total: number;
  ran: number;
  skipped: number;
  interrupted: boolean;
  files: { results: string; html: string; csv: string };
  rows: SummaryRow[];
}

test(`every task family (${TASKS.join(', ')}) × every press, then a rerun that skips it all`, async () => {
  const out = join(dir, 'all');
  const args = ['bench', ...COMMON, '--task', TASKS.join(','), '--press', pressNames().join(',')];
  const r = kvsieve(...args, '--ratio', '4', '--length', '1536', '--samples', '1', '--out', out, '--json');
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as JsonSummary;
  const presses = pressNames();
  assert.equal(s.total, TASKS.length * presses.length);
  assert.equal(s.ran, s.total);
  assert.ok(!s.interrupted);
  assert.equal(s.rows.length, s.total);
  for (const task of TASKS)
    for (const press of presses) {
      const row = s.rows.find((x) => x.task === task && x.press === press);
      assert.ok(row, `${task} × ${press}`);
      assert.equal(row.mode, press === 'laserkv' ? 'aware' : 'agnostic');
      if (press === 'full') assert.equal(row.keptFraction, 1);
      else assert.ok(row.keptFraction < 1, `${task} × ${press}: kept ${row.keptFraction}`);
    }
  const recs = jsonl(s.files.results);
  assert.equal(recs.length, s.total);
  assert.deepEqual(
    new Set(recs.map((x) => x.family)),
    new Set(['passkey', 'ruler', 'longbench', ...(hasShared ? ['babilong'] : [])]),
  );
  assert.match(
    readFileSync(s.files.csv, 'utf8'),
    /^task,press,mode,budget,cache_type,ratio,press_ratio,length,samples,accuracy,kept_fraction,/,
  );
  assert.ok(existsSync(join(out, 'kept.json')));

  if (existsSync(CHROMIUM)) {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(s.files.html).href);
      // Accuracy per task against the ratio and against the kept fraction; KV after compression and at its
      // peak for the one length; heatmaps for the needle tasks.
      assert.equal(await page.locator('h2#accuracy + div.charts svg.chart').count(), TASKS.length);
      assert.equal(await page.locator('h2#accuracy-kept + p + div.charts svg.chart').count(), TASKS.length);
      assert.equal(await page.locator('h2#memory + p + div.charts svg.chart').count(), 2);
      assert.equal(await page.locator('svg.heatmap').count(), 2 * presses.length);
      assert.equal(await page.locator('#kv-run option').count(), presses.length);
      assert.ok((await page.locator('#kv-text span').count()) > 1000);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  }

  // The same command again: everything is done.
  const again = kvsieve(
    ...args,
    '--ratio',
    '4',
    '--length',
    '1536',
    '--samples',
    '1',
    '--out',
    out,
    '--json',
  );
  assert.equal(again.code, 0, again.err);
  const s2 = JSON.parse(again.out) as JsonSummary;
  assert.equal(s2.ran, 0);
  assert.equal(s2.skipped, s.total);
  assert.equal(jsonl(s.files.results).length, s.total);
});

test('Ctrl-C stops between samples with a whole file; the rerun resumes and prints the table', async () => {
  const out = join(dir, 'sigint');
  const args = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'bench',
    ...COMMON,
    '--task',
    'passkey',
    '--press',
    'full,streaming',
    '--ratio',
    '2,4',
    '--length',
    '1k',
    '--depth',
    '0,0.5,1',
    '--samples',
    '4',
    '--out',
    out,
  ];
  const total = 3 * 4 * 3;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    err += String(d);
  });
  const results = join(out, 'results.jsonl');
  const lines = () => (existsSync(results) ? readFileSync(results, 'utf8').split('\n').length - 1 : 0);
  const deadline = Date.now() + 30_000;
  while (lines() < 3 && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 130, err);
  assert.match(err, /rerun the same command to resume/);
  const done = jsonl(results).length;
  assert.ok(done >= 3 && done < total, `${done} lines`);
  assert.ok(readFileSync(results, 'utf8').endsWith('\n'));

  const r = kvsieve(...args.slice(3));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`${done} samples were already done`));
  assert.match(r.out, /^task\s+press\s+ratio/);
  assert.match(r.out, /streaming \(agnostic\)\s+4\s+12/);
  assert.equal(jsonl(results).length, total);
});

test('bad options and lengths a model or task cannot take are refused before running', async () => {
  // One through the real entry point for the exit code; the rest in-process (each process costs seconds).
  const r = kvsieve('bench', '-m', model, '--out', join(dir, 'refused'), '--length', '8k');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /^kvsieve: --length 8k exceeds the model's context of 4096 tokens\n$/);
  const cases: [string[], RegExp][] = [
    [['--task', 'vt', '--length', '512'], /vt at 512: .*needs at least/],
    [['--task', 'nonesuch'], /unknown task "nonesuch"/],
    [['--task', 'babilong:qa1-qa2'], /--task babilong:qa1 needs --babi DIR/],
    [['--press', 'full,squeeze'], /--press: unknown press "squeeze"/],
    [['--mode', 'smart'], /--mode must be agnostic, aware or both/],
    [['--ratio', '0.5'], /--ratio: "0.5" must be a number >= 1/],
    [['--samples', '0'], /--samples must be a whole number >= 1/],
  ];
  for (const [extra, pattern] of cases) {
    const args = ['-m', model, '-t', '1', '--out', join(dir, 'refused'), ...extra];
    await assert.rejects(benchCommand(args), (e: unknown) => isUserError(e) && pattern.test(e.message));
  }
  assert.ok(!existsSync(join(dir, 'refused', 'results.jsonl')));
  for (const o of [
    '--task',
    '--press',
    '--ratio',
    '--length',
    '--depth',
    '--samples',
    '--mode',
    '--out',
    '--show-sample',
    '--json',
  ])
    assert.ok(BENCH_HELP.includes(o), o);
});
