// Malformed and hostile GGUF files: each must be refused with a GgufError whose message names the problem,
// without allocating for counts the file cannot back. (How fast that is belongs in benchmarks, not here.)
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_ARRAY_ELEMENTS, MAX_STRING_ARRAY_ELEMENTS, openGguf } from '../../src/gguf/reader.js';
import { GgmlType, GgufError, GgufValueType } from '../../src/gguf/types.js';
import { kv, serializeGguf } from '../../src/gguf/writer.js';
import { hasControlChars } from '../helpers/controls.js';
import { Raw, validRaw } from './raw.js';
import { tmpFile, tmpPath } from './tmp.js';

/** Opens `bytes` as a file and asserts a GgufError matching `re`. */
function assertRejected(bytes: Uint8Array, re: RegExp, what: string): void {
  const path = tmpFile(bytes);
  assert.throws(
    () => openGguf(path).close(),
    (e) => {
      assert.ok(e instanceof GgufError, `${what}: expected GgufError, got ${String(e)}`);
      assert.match(e.message, re, what);
      return true;
    },
    what,
  );
}

const HUGE = 2n ** 60n;
const U64_MAX = 2n ** 64n - 1n;

test('the valid baseline opens', () => {
  const f = openGguf(tmpFile(validRaw().build()));
  assert.equal(f.tensors[0].bytes, 32);
  f.close();
});

test('truncation at every byte before the end of the tensor data is refused', () => {
  const spec = {
    kv: [
      kv.str('general.architecture', 'llama'),
      kv.arr('tokenizer.ggml.tokens', GgufValueType.STRING, ['a', 'bb', '▁c']),
      kv.u64('x.u64', 7),
      kv.bool('x.bool', true),
    ],
    tensors: [
      { name: 'a', dims: [5], type: GgmlType.F32, data: new Uint8Array(20) },
      { name: 'b', dims: [32], type: GgmlType.Q8_0, data: new Uint8Array(34) },
    ],
  };
  const full = serializeGguf(spec);
  const f = openGguf(tmpFile(full));
  const end = f.dataOffset + f.tensor('b')!.offset + 34;
  f.close();
  const path = tmpPath('cut.gguf');
  for (let cut = 0; cut < end; cut++) {
    const bytes = full.subarray(0, cut);
    try {
      openGguf(tmpFileAt(path, bytes)).close();
      assert.fail(`cut at ${cut} of ${full.length} bytes was accepted`);
    } catch (e) {
      if (!(e instanceof GgufError)) throw e;
      assert.match(e.message, /too small|truncated|impossible|past the end/, `cut at ${cut}: ${e.message}`);
    }
  }
});

function tmpFileAt(path: string, bytes: Uint8Array): string {
  writeFileSync(path, bytes);
  return path;
}

test('wrong magic, tiny files and unsupported versions', () => {
  assertRejected(new Uint8Array(0), /too small to be GGUF \(0 bytes\)/, 'empty');
  assertRejected(Buffer.from(`GGML${'\0'.repeat(40)}`), /bad magic "GGML"/, 'ggml magic');
  assertRejected(Buffer.from('GGUF\x03\0'), /truncated: a GGUF header needs 24 bytes/, 'short header');
  assertRejected(new Raw().header(0, 0, 1).build(), /unsupported GGUF version 1\b/, 'v1');
  assertRejected(new Raw().header(0, 0, 4).build(), /unsupported GGUF version 4\b/, 'v4');
  assertRejected(new Raw().header(0, 0, 0x03000000).build(), /big-endian/, 'big-endian v3');
});

test('absurd counts and lengths are refused before allocating', () => {
  assertRejected(new Raw().header(HUGE, 0).build(), /tensor count \d+ is impossible/, 'tensor count 2^60');
  assertRejected(new Raw().header(0, HUGE).build(), /metadata count \d+ is impossible/, 'kv count 2^60');
  assertRejected(
    new Raw().header(0, U64_MAX).build(),
    /metadata count 18446744073709551615/,
    'kv count 2^64-1',
  );
  const longKey = new Raw().header(0, 1).u64(HUGE).zeros(16).build();
  assertRejected(longKey, /length of metadata key \d+ is impossible/, 'key length 2^60');
  const longValue = new Raw().header(0, 1).str('k').u32(GgufValueType.STRING).u64(HUGE).build();
  assertRejected(longValue, /length of string value of "k"/, 'string length 2^60');
  const bigArray = new Raw()
    .header(0, 1)
    .str('k')
    .u32(GgufValueType.ARRAY)
    .u32(GgufValueType.UINT8)
    .u64(HUGE);
  assertRejected(bigArray.zeros(64).build(), /element count of array "k" \d+ is impossible/, 'array 2^60');
  const strArray = new Raw()
    .header(0, 1)
    .str('k')
    .u32(GgufValueType.ARRAY)
    .u32(GgufValueType.STRING)
    .u64(1e6);
  assertRejected(
    strArray.zeros(64).build(),
    /element count of array "k" 1000000 is impossible/,
    'string array 1e6',
  );
});

test('bad metadata values', () => {
  const one = (r: Raw) => new Raw().header(0, 1).bytes(r.build()).build();
  assertRejected(one(new Raw().str('k').u32(13).u32(0)), /"k": unknown value type 13/, 'value type 13');
  assertRejected(
    one(new Raw().str('k').u32(GgufValueType.ARRAY).u32(GgufValueType.ARRAY).u64(0)),
    /"k": nested arrays/,
    'nested array',
  );
  assertRejected(
    one(new Raw().str('k').u32(GgufValueType.ARRAY).u32(99).u64(0)),
    /"k": unknown array element type 99/,
    'array of type 99',
  );
  assertRejected(one(new Raw().str('k').u32(GgufValueType.BOOL).u8(2)), /"k": invalid bool byte 2/, 'bool 2');
  const dup = new Raw().header(0, 2).kvU32('k', 1).kvU32('k', 2).build();
  assertRejected(dup, /duplicate metadata key "k"/, 'duplicate key');
  for (const [bytes, what] of [
    [new Raw().header(0, 1).kvU32('general.alignment', 0).build(), 'alignment 0'],
    [new Raw().header(0, 1).kvU32('general.alignment', 48).build(), 'alignment 48'],
    [
      new Raw().header(0, 1).str('general.alignment').u32(GgufValueType.UINT64).u64(32).build(),
      'u64 alignment',
    ],
  ] as const) {
    assertRejected(bytes, /general.alignment must be a UINT32 power of two/, what);
  }
});

test('bad tensor infos', () => {
  const withTensor = (dims: (number | bigint)[], type: number, offset: number | bigint = 0, name = 'w') =>
    new Raw().header(1, 0).tensorInfo(name, dims, type, offset).align().zeros(64).build();
  assertRejected(withTensor([], GgmlType.F32), /"w" has 0 dimensions \(1..4 allowed\)/, 'n_dims 0');
  assertRejected(withTensor([1, 1, 1, 1, 1], GgmlType.F32), /"w" has 5 dimensions/, 'n_dims 5');
  assertRejected(withTensor([4, 0], GgmlType.F32), /"w" has a zero dimension/, 'zero dim');
  assertRejected(
    withTensor([2n ** 62n], GgmlType.F32),
    /dimension 0 of tensor "w" \d+ is impossible/,
    'huge dim',
  );
  // Each dimension alone could fit in this 4 KiB file, their product cannot.
  const product = new Raw().header(1, 0).tensorInfo('w', [2000, 2000], GgmlType.F32, 0).align().zeros(4096);
  assertRejected(product.build(), /"w" has 2000×2000\.\.\. elements, impossible/, 'huge product');
  assertRejected(withTensor([8], 99), /"w" has unknown type unknown\(99\)/, 'type 99');
  assertRejected(withTensor([8], 4), /"w" has unknown type unknown\(4\)/, 'removed type Q4_2');
  assertRejected(
    withTensor([16], GgmlType.Q8_0),
    /row of 16 is not a multiple of the Q8_0 block \(32\)/,
    'row',
  );
  assertRejected(withTensor([8], GgmlType.F32, 4), /"w" data offset 4 is not aligned to 32/, 'misaligned');
  assertRejected(
    withTensor([8], GgmlType.F32, HUGE),
    /data offset of tensor "w" \d+ is impossible/,
    'offset 2^60',
  );
  assertRejected(
    withTensor([100], GgmlType.F32),
    /"w" data \[\d+, \d+\) runs past the end of the file/,
    'past EOF',
  );
  assertRejected(withTensor([8], GgmlType.F32, 64), /runs past the end/, 'offset past EOF');
  assertRejected(
    withTensor([8], GgmlType.F32, 0, 'n'.repeat(64)),
    /name of tensor 0 is 64 bytes long/,
    'long name',
  );
  const two = (offA: number, offB: number, nameB = 'b') =>
    new Raw()
      .header(2, 0)
      .tensorInfo('a', [16], GgmlType.F32, offA)
      .tensorInfo(nameB, [16], GgmlType.F32, offB)
      .align()
      .zeros(256)
      .build();
  assertRejected(two(0, 32), /tensors "a" \[0, 64\) and "b" \[32, 96\) overlap/, 'overlap');
  assertRejected(two(64, 64), /overlap/, 'same offset');
  assertRejected(two(0, 64, 'a'), /duplicate tensor name "a"/, 'duplicate name');
  openGguf(tmpFile(two(0, 64))).close(); // adjacent is fine
  openGguf(tmpFile(two(128, 0))).close(); // any order is fine
});

test('invalid UTF-8 in keys and strings is accepted', () => {
  const bad = Uint8Array.of(0x66, 0xff, 0xfe);
  const bytes = new Raw().header(0, 1).str(bad).u32(GgufValueType.STRING).str(bad).build();
  const f = openGguf(tmpFile(bytes));
  assert.equal(f.kv.length, 1);
  f.close();
});

test('a missing file is a GgufError', () => {
  assert.throws(
    () => openGguf(tmpPath('does-not-exist.gguf')),
    (e) => e instanceof GgufError && /cannot open/.test(e.message),
  );
});

test('tensor offsets beyond 4 GiB are read at the right place (sparse file)', (t) => {
  if (process.platform !== 'linux') {
    t.skip('needs sparse files');
    return;
  }
  const far = 5 * 2 ** 30; // past 2^32: offsets must not be truncated to 32 bits anywhere
  const head = new Raw().header(1, 0).tensorInfo('far', [8], GgmlType.F32, far).align().build();
  const path = tmpPath('sparse.gguf');
  writeFileSync(path, head);
  truncateSync(path, head.length + far + 32); // a hole, not 5 GiB of disk
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.of(1, 2, 3), 0, 3, head.length + far + 29);
  closeSync(fd);
  const f = openGguf(path);
  const data = f.readTensor(f.tensor('far')!);
  assert.deepEqual([...data.subarray(28)], [0, 1, 2, 3]);
  f.close();
  truncateSync(path, head.length + far + 31); // one byte short
  assert.throws(() => openGguf(path), /runs past the end of the file/);
});

test('array counts beyond the caps fail cleanly before anything is read (sparse file)', (t) => {
  if (process.platform !== 'linux') {
    t.skip('needs sparse files');
    return;
  }
  // A flipped count in a big file: the file really is big enough to back the count, so only the cap stops it.
  for (const [arrayType, cap, bytes] of [
    [GgufValueType.UINT8, MAX_ARRAY_ELEMENTS, 1],
    [GgufValueType.STRING, MAX_STRING_ARRAY_ELEMENTS, 8],
  ] as const) {
    const n = cap + 1;
    const head = new Raw().header(0, 1).str('k').u32(GgufValueType.ARRAY).u32(arrayType).u64(n).build();
    const path = tmpPath(`big-array-${arrayType}.gguf`);
    writeFileSync(path, head);
    truncateSync(path, head.length + n * bytes); // a hole, not real disk
    assert.throws(
      () => openGguf(path),
      (e) =>
        e instanceof GgufError &&
        new RegExp(`array "k" has ${n} elements, more than the ${cap} allowed`).test(e.message),
    );
  }
});

test('file-derived strings in messages are escaped and capped', () => {
  const evil = 'x\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e';
  const expectSafe = (e: unknown) => {
    assert.ok(e instanceof GgufError);
    assert.ok(!hasControlChars(e.message), `raw control characters in ${JSON.stringify(e.message)}`);
    return true;
  };
  // A duplicate key holding escapes, a tensor name holding an OSC title sequence.
  const dup = new Raw().header(0, 2).kvU32(evil, 1).kvU32(evil, 2).build();
  assert.throws(() => openGguf(tmpFile(dup)), expectSafe);
  assert.throws(
    () => openGguf(tmpFile(dup)),
    /duplicate metadata key "x\\x1b\[2J\\x1b\]0;pwned\\x07\\x9b31m\\u202e"/,
  );
  const tensor = new Raw().header(1, 0).tensorInfo('\x1b]0;t\x07', [8], 99, 0).align().zeros(64).build();
  assert.throws(() => openGguf(tmpFile(tensor)), expectSafe);
  // A 60 kB key (allowed) is shown cut short, with its length.
  const longKey = 'k'.repeat(60_000);
  const dupLong = new Raw().header(0, 2).kvU32(longKey, 1).kvU32(longKey, 2).build();
  assert.throws(
    () => openGguf(tmpFile(dupLong)),
    (e) => e instanceof GgufError && e.message.length < 400 && /… \(60000 chars in all\)/.test(e.message),
  );
});

test('keys longer than the 65535 bytes the GGUF specification allows are refused', () => {
  const bytes = new Raw().header(0, 1).str('k'.repeat(70_000)).u32(GgufValueType.UINT32).u32(1).build();
  assertRejected(bytes, /metadata key is 70000 bytes long, more than the 65535 allowed/, 'long key');
});

test('a directory is named as such', () => {
  const dir = tmpPath('a-directory.gguf');
  mkdirSync(dir);
  assert.throws(
    () => openGguf(dir),
    (e) => e instanceof GgufError && /is a directory, not a GGUF file/.test(e.message),
  );
  assert.throws(
    () => openGguf(tmpPath('nope.gguf')),
    (e) => e instanceof GgufError && /cannot open: no such file/.test(e.message),
  );
});
