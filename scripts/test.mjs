#!/usr/bin/env node
// Finds test/**/*.test.ts and runs them with node's test runner through tsx (Node 20 has no --test globs),
// reporting with scripts/test-reporter.mjs (one line per file, failures in full, a summary line);
// `--tap` gives node's raw TAP instead. Other arguments pick files by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}
const args = process.argv.slice(2);
const tap = args.includes('--tap');
const filters = args.filter((a) => a !== '--tap');
const files = find('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
const reporter = tap
  ? ['--test-reporter=tap']
  : [`--test-reporter=${new URL('./test-reporter.mjs', import.meta.url).href}`];
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    ...reporter,
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
