// Progress without a terminal (logs, CI): plain lines at each tenth of a bench run, nothing for short work;
// in a terminal, the bar redrawn in place.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressBar } from '../../src/cli/progress.js';

function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, out: { isTTY, write: (s: string) => lines.push(s) } };
}

test('without a terminal, a line at every tenth of the work (so every few samples), none in place', () => {
  const { lines, out } = sink(false);
  let now = 0;
  const bar = new ProgressBar('bench', { out, lines: true, now: () => now });
  for (let done = 1; done <= 40; done++) {
    now += 1000;
    bar.update(done, 40, ' samples');
  }
  bar.done();
  // The first sample, then every fourth.
  assert.equal(lines.length, 11);
  assert.equal(lines[0], 'bench: 1/40 samples (3%) eta 39s\n');
  assert.equal(lines[1], 'bench: 4/40 samples (10%) eta 36s\n');
  assert.equal(lines[10], 'bench: 40/40 samples (100%)\n');
  for (const l of lines) assert.ok(!l.includes('\r') && !l.includes('\x1b'), JSON.stringify(l));
});

test('without a terminal, short work (loading, prefill) prints nothing, however long it takes', () => {
  const { lines, out } = sink(false);
  let now = 0;
  const bar = new ProgressBar('loading', { out, now: () => now });
  for (let done = 1; done <= 10; done++) {
    now += 5000;
    bar.update(done, 10, ' MiB');
  }
  bar.done();
  assert.deepEqual(lines, []);
});

test('in a terminal, one bar redrawn in place and cleared at the end', () => {
  const { lines, out } = sink(true);
  let now = 0;
  const bar = new ProgressBar('prefill', { out, now: () => now });
  now += 100;
  bar.update(5, 10, ' tok');
  bar.done();
  assert.equal(lines.length, 2);
  assert.equal(lines[0], `\rprefill ${'█'.repeat(15)}${'░'.repeat(15)}  50% 5/10 tok eta 1s\x1b[K`);
  assert.equal(lines[1], '\r\x1b[K');
});
