// scripts/test-reporter.mjs, on two small test files: a line per file, a failure shown in full, skips with
// reasons, and the summary line the suite ends with.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';

test('the reporter prints a line per file, failures in full, skips with reasons, and a summary line', () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'good.test.mjs'),
    "import { test } from 'node:test';\ntest('adds', () => {});\ntest('later', { skip: 'not today' }, () => {});\n",
  );
  writeFileSync(
    join(dir, 'bad.test.mjs'),
    "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n" +
      "test('breaks', () => { console.error('some output'); assert.equal(1 + 1, 3); });\n",
  );
  writeFileSync(join(dir, 'broken.test.mjs'), "throw new Error('cannot load');\n");
  const reporter = new URL('../../scripts/test-reporter.mjs', import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      `--test-reporter=${reporter}`,
      '--test-reporter-destination=stdout',
      'bad.test.mjs',
      'good.test.mjs',
      'broken.test.mjs',
    ],
    // Without the parent runner's context, the child runs its own report.
    { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  assert.equal(r.status, 1, 'a failure fails the run');
  const out = r.stdout;
  assert.match(out, /^✔ good\.test\.mjs {2}2 tests, 1 skipped {2}[\d.]+ s$/m);
  assert.match(out, /^✖ bad\.test\.mjs {2}1 test, 1 failed {2}[\d.]+ s$/m);
  assert.match(out, /^- later \(good\.test\.mjs\): not today$/m);
  assert.match(out, /^✖ breaks \(bad\.test\.mjs\)$/m);
  assert.match(out, /2 !== 3/);
  assert.match(out, /^✖ broken\.test\.mjs failed to run$/m);
  assert.match(out, /Error: cannot load/);
  assert.match(
    out,
    /\n3 tests: 1 passed, 1 failed, 1 skipped, 1 file failed to run, in [\d.]+ s\n$/,
    'ends with the summary line',
  );
  assert.ok(out.split('\n').length < 80, 'compact');
});
