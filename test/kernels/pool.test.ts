// The worker pool's lifecycle: a closed backend lets the process exit, and threads are reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Heap } from '../../src/kernels/heap.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';

test('a process exits by itself after close()', () => {
  const fixture = fileURLToPath(new URL('./fixtures/close.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'the child had to be killed: something kept it alive');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /closed/);
});

test('the backend name tells the build and the thread count', async () => {
  const b = await createWasmBackend(new Heap(), { threads: 2, relaxed: false });
  assert.equal(b.name, 'wasm×2');
  await b.close();
});
