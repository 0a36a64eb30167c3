// The press registry: options as text (`lagkv:lag=64,sink=4`), validation that names the press and the option,
// own-key lookup, and the defaults `kvsieve presses` lists being the ones the presses really use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdaKvPress } from '../../src/presses/adakv.js';
import {
  describePresses,
  formatPressText,
  type PressSpec,
  parsePressText,
  pressFromSpec,
  pressNames,
} from '../../src/presses/index.js';
import type { LagKvPress } from '../../src/presses/lagkv.js';
import type { LaserKvPress } from '../../src/presses/laserkv.js';
import type { SnapKvPress } from '../../src/presses/snapkv.js';

test('options as text are typed by the press’s declarations and reach the press', () => {
  const spec = parsePressText('lagkv:lag=64,sink=4,mode=oneshot,useThenCompress=false,skipLayers=0/2');
  assert.deepEqual(spec, {
    name: 'lagkv',
    lag: 64,
    sink: 4,
    mode: 'oneshot',
    useThenCompress: false,
    skipLayers: [0, 2],
  });
  const press = pressFromSpec({ ...spec, ratio: 4 }) as LagKvPress;
  assert.equal(press.lag, 64);
  assert.equal(press.sink, 4);
  assert.equal(press.mode, 'oneshot');
  assert.equal(press.compressBeforeAttention, true);
  assert.deepEqual(parsePressText('snapkv'), { name: 'snapkv' });
  // Canonical text: the press's declared order, whatever order they were given in.
  assert.equal(formatPressText(parsePressText('lagkv:lag=64,sink=4')), 'lagkv:sink=4,lag=64');
  assert.equal(formatPressText({ name: 'l2kv', skipLayers: [0, 1] }), 'l2kv:skipLayers=0/1');
});

test('bad presses, options and values are RangeErrors naming them', () => {
  const bad: [() => unknown, RegExp][] = [
    [() => parsePressText('lagkvv:lag=3'), /unknown press "lagkvv" \(known: full, lagkv/],
    [() => parsePressText('lagkv:lga=64'), /lagkv: unknown option "lga" \(options: sink, lag, skipLayers/],
    [() => parsePressText('h2o:sink=4'), /h2o: unknown option "sink" \(it takes no options\)/],
    [() => parsePressText('lagkv:lag=abc'), /lagkv: option lag cannot be "abc"/],
    [() => parsePressText('lagkv:lag'), /lagkv: "lag" is not key=value/],
    [() => parsePressText('lagkv:ratio=4'), /give the ratio with --ratio/],
    [() => parsePressText('lagkv:lag=4,lag=5'), /option lag given twice/],
    [() => parsePressText('lagkv:useThenCompress=yes'), /option useThenCompress cannot be "yes"/],
    [() => pressFromSpec({ name: 'lagkv', ratio: 4, lag: 4.5 }), /lagkv: option lag must be a whole number/],
    [() => pressFromSpec({ name: 'lagkv', ratio: 4, lag: 1 }), /lag size L must be a whole number >= 2/],
    [
      () => pressFromSpec({ name: 'lagkv', ratio: 4, mode: 'twice' }),
      /option mode must be recursive or oneshot/,
    ],
    [
      () => pressFromSpec({ name: 'laserkv', ratio: 4, seed: '1' }),
      /option seed must be a whole number, got "1"/,
    ],
    [() => pressFromSpec({ name: 'l2kv', ratio: 4, skipLayers: [0, 'x'] }), /list of whole numbers/],
    // A JSON body can carry any type where a number belongs.
    [
      () => pressFromSpec({ name: 'knorm', ratio: '4' } as unknown as PressSpec),
      /knorm: ratio must be a number/,
    ],
  ];
  for (const [f, re] of bad)
    assert.throws(f, (e: Error) => e instanceof RangeError && re.test(e.message), String(re));
});

test('only the registry’s own names are presses (no prototype keys)', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    assert.throws(() => pressFromSpec({ name, ratio: 2 }), /unknown press/, name);
    assert.throws(() => parsePressText(`${name}:x=1`), /unknown press/, name);
  }
  assert.ok(!pressNames().includes('constructor'));
});

/** What a built press uses for an option (its public field, or where it keeps it). */
function used(press: object, name: string): unknown {
  const p = press as Record<string, unknown>;
  if (name === 'inner') return (press as AdaKvPress).inner.name;
  if (press.constructor.name === 'AdaKvPress' && name !== 'safeguard')
    return (((press as AdaKvPress).inner as unknown as Record<string, unknown>)[name] ??
      undefined) as unknown;
  const laser = press as LaserKvPress;
  if (name === 'lshBits') return laser.lsh.bits;
  if (name === 'lshTables') return laser.lsh.tables;
  if (name === 'fallbackTokens') return laser.questionFallback;
  if (name === 'seed' && 'lsh' in p) return laser.lsh.seed;
  return p[name];
}

test('every default `kvsieve presses` lists is what the press uses when the option is left out', () => {
  let checked = 0;
  for (const p of describePresses()) {
    if (p.sizing === 'none') continue;
    const press = pressFromSpec({ name: p.name, ratio: 2 });
    for (const o of p.options) {
      // Values kept out of sight (random's seed, the skipped layers) are checked through behaviour elsewhere.
      const actual = used(press, o.name);
      if (actual === undefined && (o.name === 'seed' || o.name === 'skipLayers')) continue;
      // AdaKV's PyramidKV options apply with inner=pyramidkv, its Expected Attention ones with inner=expected.
      const expected = ['nFuture', 'nSink', 'useCovariance', 'useVnorm', 'epsilon'];
      if (p.name === 'adakv' && ['beta', 'layout', ...expected].includes(o.name)) continue;
      assert.deepEqual(actual, o.default, `${p.name}: ${o.name}`);
      checked++;
    }
  }
  assert.ok(checked >= 25, `${checked} defaults checked`);
  // AdaKV's PyramidKV options apply with inner=pyramidkv.
  const ada = pressFromSpec({ name: 'adakv', inner: 'pyramidkv', ratio: 2 }) as AdaKvPress;
  assert.equal((ada.inner as unknown as { beta: number }).beta, 20);
  assert.equal((ada.inner as SnapKvPress).pooling, 'avg');
});
