// A compact reporter for node's test runner: failures in full as they happen (with the file's own output,
// when node passes it on), skipped tests with their reasons, then one line per test file, the slowest files,
// and one summary line at the end. (The per-file lines come at the end because node may report a file as
// finished before the results of its tests.) `node scripts/test.mjs --tap` gives the raw TAP instead.
import { relative, resolve } from 'node:path';
import { inspect } from 'node:util';

const cwd = process.cwd();
const rel = (file) => (file ? relative(cwd, file) : '(unknown file)');
const seconds = (ms) =>
  ms >= 60_000
    ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
    : `${(ms / 1000).toFixed(1)} s`;

/**
 * Node reports each test file as a test named by its path (absolute in Node 20, as given in Node 24); those
 * are files, not tests.
 */
const isFile = (data) =>
  data.nesting === 0 && data.file !== undefined && resolve(cwd, data.name) === resolve(cwd, data.file);
/** The test file an event belongs to (Node 24 names it entryFile, and may give `file` relative). */
const fileKey = (data) => {
  const f = data.entryFile ?? data.file;
  return f === undefined ? undefined : resolve(cwd, f);
};

function describeError(error) {
  const e = error?.cause ?? error;
  const text =
    e instanceof Error || typeof e === 'object' ? inspect(e, { depth: 4, colors: false }) : String(e);
  const lines = text.split('\n');
  const shown = lines.slice(0, 40).map((l) => `    ${l}`);
  if (lines.length > 40) shown.push(`    … ${lines.length - 40} more lines`);
  return shown.join('\n');
}

export default async function* report(source) {
  const started = Date.now();
  const files = new Map(); // file -> { tests, failed, skipped, output: string[] }
  const fileOf = (file) => {
    let f = files.get(file);
    if (!f) {
      f = { tests: 0, failed: 0, skipped: 0, output: [], done: false, passed: true, error: undefined, ms: 0 };
      files.set(file, f);
    }
    return f;
  };
  const failures = [];
  let tests = 0;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let filesFailed = 0;
  for await (const { type, data } of source) {
    if (type === 'test:stdout' || type === 'test:stderr') {
      if (fileKey(data)) fileOf(fileKey(data)).output.push(data.message);
      continue;
    }
    if (type === 'test:complete' && isFile(data)) {
      // A file has finished (node reports each file as a test named by its path).
      const f = fileOf(fileKey(data));
      f.done = true;
      f.ms = data.details?.duration_ms ?? 0;
      f.passed = data.details?.passed === true;
      f.error = data.details?.error;
      continue;
    }
    if ((type !== 'test:pass' && type !== 'test:fail') || isFile(data)) continue;
    const f = fileOf(fileKey(data));
    if (data.details?.type === 'suite') continue;
    tests++;
    f.tests++;
    // (Line numbers are of tsx's output, not of the source: the file and the name find the test.)
    const where = rel(fileKey(data));
    if (type === 'test:fail') {
      failed++;
      f.failed++;
      const text = `✖ ${data.name} (${where})\n${describeError(data.details?.error)}`;
      failures.push(text);
      yield `${text}\n`;
    } else if (data.skip !== undefined || data.todo !== undefined) {
      skipped++;
      f.skipped++;
      const why = data.skip ?? data.todo;
      yield `- ${data.name} (${where}): ${typeof why === 'string' ? why : 'skipped'}\n`;
    } else passed++;
  }
  for (const [file, f] of files) {
    if (f.done && !f.passed && f.failed === 0) {
      // The file itself failed (it did not load, or it exited early): that is a failure too.
      f.failed++;
      filesFailed++;
      const text = `✖ ${rel(file)} failed to run\n${describeError(f.error)}`;
      failures.push(text);
      yield `${text}\n${f.output.join('').trimEnd().replace(/^/gm, '    | ')}\n`;
    }
  }
  for (const [file, f] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const counts = [`${f.tests} test${f.tests === 1 ? '' : 's'}`];
    if (f.failed) counts.push(`${f.failed} failed`);
    if (f.skipped) counts.push(`${f.skipped} skipped`);
    yield `${f.failed ? '✖' : '✔'} ${rel(file)}  ${counts.join(', ')}  ${seconds(f.ms)}\n`;
  }
  const slowest = [...files]
    .filter(([, f]) => f.done)
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 5)
    .map(([file, f]) => `${rel(file)} ${seconds(f.ms)}`);
  if (slowest.length > 0) yield `\nslowest files: ${slowest.join(', ')}\n`;
  if (failures.length > 0) yield `\nfailed:\n${failures.map((t) => t.split('\n')[0]).join('\n')}\n`;
  const broken = filesFailed ? `, ${filesFailed} file${filesFailed === 1 ? '' : 's'} failed to run` : '';
  yield `\n${tests} tests: ${passed} passed, ${failed} failed, ${skipped} skipped${broken}, in ${seconds(Date.now() - started)}\n`;
}
