// Presses are looked up by their own names only: names that Object.prototype carries are unknown presses
// (a RangeError, so a 400 or exit 2), not a crash on `p.make is not a function`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pressFromSpec } from '../../src/presses/index.js';

test('__proto__, constructor, toString and friends are unknown presses', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.throws(
      () => pressFromSpec({ name, ratio: 4 }),
      (e) => e instanceof RangeError && e.message.startsWith(`unknown press "${name}"`),
      name,
    );
  }
  assert.equal(pressFromSpec({ name: 'lagkv', ratio: 4 }).name, 'lagkv');
});
