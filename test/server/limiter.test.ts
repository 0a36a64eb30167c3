import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../src/server/errors.js';
import { Limiter } from '../../src/server/limiter.js';

test('slots go first come, first served; a full queue refuses with a 429 at once', async () => {
  const l = new Limiter(2, 2);
  const a = await l.acquire();
  const b = await l.acquire();
  const order: string[] = [];
  const queue = (name: string) =>
    l.acquire().then((release) => {
      order.push(name);
      return release;
    });
  const c = queue('c');
  const d = queue('d');
  await assert.rejects(l.acquire(), (e: unknown) => e instanceof ApiError && e.status === 429);
  assert.deepEqual([l.active, l.queued], [2, 2]);
  b();
  b(); // releasing twice frees one slot only
  (await c)();
  a();
  (await d)();
  assert.deepEqual(order, ['c', 'd']);
  assert.deepEqual([l.active, l.queued], [0, 0]);
});

test('an aborted waiter leaves the queue; refuseWaiting empties it; running slots are kept', async () => {
  const l = new Limiter(1, 3);
  const running = await l.acquire();
  const gone = new AbortController();
  const leaving = l.acquire(gone.signal);
  const staying = l.acquire();
  gone.abort(new Error('client left'));
  await assert.rejects(leaving, /client left/);
  assert.equal(l.queued, 1);
  l.refuseWaiting(new Error('shutting down'));
  await assert.rejects(staying, /shutting down/);
  assert.deepEqual([l.active, l.queued], [1, 0]);
  running();
  assert.equal(l.active, 0);
  await assert.rejects(l.acquire(AbortSignal.abort(new Error('already'))), /already/);
  assert.throws(() => new Limiter(0, 1), RangeError);
});
