// writer → reader round trips: every metadata value type, tensors of several types, alignments 32 and 64,
// streaming to disk, kvOf inference, and the writer's own validation.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { openGguf } from '../../src/gguf/reader.js';
import { GgmlType, GgufError, type GgufKv, GgufValueType } from '../../src/gguf/types.js';
import { type GgufTensorData, kv, kvOf, serializeGguf, writeGguf } from '../../src/gguf/writer.js';
import { tmpFile, tmpPath } from './tmp.js';

const ALL_KV: GgufKv[] = [
  kv.u8('t.u8', 255),
  kv.i8('t.i8', -128),
  kv.u16('t.u16', 65535),
  kv.i16('t.i16', -32768),
  kv.u32('t.u32', 0xffffffff),
  kv.i32('t.i32', -0x80000000),
  kv.f32('t.f32', 0.5),
  kv.f64('t.f64', Math.PI),
  kv.u64('t.u64.small', 12345),
  kv.u64('t.u64.big', 2n ** 64n - 1n), // > 2^53 stays bigint
  kv.i64('t.i64.neg', -(2n ** 63n)),
  kv.i64('t.i64.small', -7),
  kv.bool('t.true', true),
  kv.bool('t.false', false),
  kv.str('t.empty', ''),
  kv.str('t.unicode', 'héllo ▁wörld 🦙 — 中文'),
  kv.arr('t.arr.str', GgufValueType.STRING, ['a', '', '🦙']),
  kv.arr('t.arr.f32', GgufValueType.FLOAT32, [1.5, -2.25]),
  kv.arr('t.arr.i32', GgufValueType.INT32, [1, -2, 3]),
  kv.arr('t.arr.u8', GgufValueType.UINT8, [0, 255]),
  kv.arr('t.arr.bool', GgufValueType.BOOL, [true, false]),
  kv.arr('t.arr.u64', GgufValueType.UINT64, [1, 2n ** 60n]),
  kv.arr('t.arr.f64', GgufValueType.FLOAT64, [0.1]),
  kv.arr('t.arr.empty', GgufValueType.STRING, []),
];

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

// Sizes chosen so that most tensors end off the alignment and need padding.
const TENSORS: GgufTensorData[] = [
  { name: 'f32', dims: [3], type: GgmlType.F32, data: bytes(12, 1) },
  { name: 'f16.2d', dims: [5, 3], type: GgmlType.F16, data: bytes(30, 2) },
  { name: 'q8_0', dims: [64, 2], type: GgmlType.Q8_0, data: bytes(4 * 34, 3) },
  { name: 'q4_k.3d', dims: [256, 1, 2], type: GgmlType.Q4_K, data: bytes(2 * 144, 4) },
  { name: 'q6_k.4d', dims: [256, 1, 1, 1], type: GgmlType.Q6_K, data: bytes(210, 5) },
  { name: 'bf16', dims: [1], type: GgmlType.BF16, data: bytes(2, 6) },
];

/** Metadata values compared by content: typed arrays as plain arrays, exact 64-bit integers as numbers. */
function plain(v: unknown): unknown {
  if (!ArrayBuffer.isView(v) && !Array.isArray(v)) return v;
  return Array.from(v as ArrayLike<unknown>, (x) =>
    typeof x === 'bigint' && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x,
  );
}

function roundTrip(alignment: number | undefined, version?: 2 | 3) {
  const path = tmpFile(serializeGguf({ kv: ALL_KV, tensors: TENSORS, alignment, version }));
  const f = openGguf(path);
  try {
    const a = alignment ?? 32;
    assert.equal(f.version, version ?? 3);
    assert.equal(f.alignment, a);
    assert.equal(f.dataOffset % a, 0);
    for (const e of ALL_KV) {
      assert.deepEqual(plain(f.metadata.get(e.key)), plain(e.value), e.key);
      const got = f.kv.find((x) => x.key === e.key)!;
      assert.equal(got.type, e.type, `${e.key} type`);
      assert.equal(got.arrayType, e.arrayType, `${e.key} array type`);
    }
    assert.equal(f.metadata.get('general.alignment'), a === 32 ? undefined : a);
    assert.equal(f.tensors.length, TENSORS.length);
    for (const t of TENSORS) {
      const info = f.tensor(t.name)!;
      assert.deepEqual(info.dims, t.dims);
      assert.equal(info.type, t.type);
      assert.equal(info.offset % a, 0, `${t.name} offset aligned`);
      assert.deepEqual(f.readTensor(info), t.data, `${t.name} data`);
    }
    return f.size;
  } finally {
    f.close();
  }
}

test('all metadata types and several tensor types survive writer → reader (alignment 32)', () => {
  roundTrip(undefined);
  roundTrip(32, 2);
});

test('alignment 64 is recorded as general.alignment and respected', () => {
  roundTrip(64);
  // An alignment given only through kv is used as well.
  const spec = { kv: [kv.u32('general.alignment', 64)], tensors: TENSORS.slice(0, 2) };
  const f = openGguf(tmpFile(serializeGguf(spec)));
  assert.equal(f.alignment, 64);
  assert.equal(f.tensor('f16.2d')!.offset, 64);
  f.close();
});

test('u64 values round-trip as numbers when safe and as bigint beyond 2^53', () => {
  const path = tmpFile(
    serializeGguf({ kv: [kv.u64('a', 2 ** 53 - 1), kv.u64('b', 2n ** 53n + 1n)], tensors: [] }),
  );
  const f = openGguf(path);
  assert.equal(f.metadata.get('a'), 2 ** 53 - 1);
  assert.equal(f.metadata.get('b'), 2n ** 53n + 1n);
  f.close();
});

test('writeGguf streams the same bytes serializeGguf builds', () => {
  const spec = { kv: ALL_KV, tensors: TENSORS, alignment: 64 };
  const path = tmpPath('streamed.gguf');
  writeGguf(path, spec);
  assert.deepEqual(new Uint8Array(readFileSync(path)), serializeGguf(spec));
  // Every tensor, the last included, is padded to the alignment, as llama.cpp writes them.
  assert.equal(statSync(path).size % 64, 0);
});

test('kvOf infers value types', () => {
  const cases: [GgufKv, GgufValueType, GgufValueType?][] = [
    [kvOf('s', 'x'), GgufValueType.STRING],
    [kvOf('b', false), GgufValueType.BOOL],
    [kvOf('u', 4096), GgufValueType.UINT32],
    [kvOf('u.max', 0xffffffff), GgufValueType.UINT32],
    [kvOf('i', -1), GgufValueType.INT32],
    [kvOf('f', 1e-5), GgufValueType.FLOAT32],
    [kvOf('big', 2n ** 60n), GgufValueType.UINT64],
    [kvOf('neg.big', -5n), GgufValueType.INT64],
    [kvOf('as', ['a', 'b']), GgufValueType.ARRAY, GgufValueType.STRING],
    [kvOf('ai', [1, -2, 3]), GgufValueType.ARRAY, GgufValueType.INT32],
    [kvOf('af', [1, 2.5]), GgufValueType.ARRAY, GgufValueType.FLOAT32],
    [kvOf('ab', [true]), GgufValueType.ARRAY, GgufValueType.BOOL],
    [kvOf('empty', []), GgufValueType.ARRAY, GgufValueType.INT32],
  ];
  for (const [e, type, arrayType] of cases) {
    assert.equal(e.type, type, e.key);
    assert.equal(e.arrayType, arrayType, `${e.key} array type`);
  }
  assert.throws(() => kvOf('huge', 2 ** 40), /does not fit 32 bits/);
  assert.throws(() => kvOf('mixed', [1, 'a']), /mixed array/);
});

test('typed constructors and the writer reject values that do not fit', () => {
  assert.throws(
    () => kv.u8('k', 256),
    (e) => e instanceof GgufError && /"k".*out of UINT8 range/.test(e.message),
  );
  assert.throws(() => kv.i32('k', 1.5), /needs an integer/);
  assert.throws(() => kv.u64('k', -1), /out of UINT64 range/);
  assert.throws(() => kv.u64('k', 2n ** 64n), /out of UINT64 range/);
  assert.throws(() => kv.arr('k', GgufValueType.ARRAY, []), /nested arrays/);
  // Hand-built entries are checked when written.
  const bad: GgufKv = { key: 'k', type: GgufValueType.UINT16, value: 'x' };
  assert.throws(() => serializeGguf({ kv: [bad], tensors: [] }), /"k": UINT16 needs an integer/);
});

test('the writer rejects malformed files before writing anything', () => {
  const t = (over: Partial<GgufTensorData>): GgufTensorData => ({ ...TENSORS[0], ...over });
  const cases: [Parameters<typeof serializeGguf>[0], RegExp][] = [
    [{ kv: [kv.u32('a', 1), kv.u32('a', 2)], tensors: [] }, /duplicate metadata key "a"/],
    [{ kv: [], tensors: [t({}), t({})] }, /duplicate tensor name "f32"/],
    [{ kv: [], tensors: [t({ data: bytes(8, 0) })] }, /needs 12 bytes, got 8/],
    [{ kv: [], tensors: [t({ dims: [] })] }, /0 dimensions/],
    [{ kv: [], tensors: [t({ dims: [1, 1, 1, 1, 3] })] }, /5 dimensions/],
    [{ kv: [], tensors: [t({ dims: [0] })] }, /not a positive integer/],
    [{ kv: [], tensors: [t({ name: 'x'.repeat(64) })] }, /name longer than 63 bytes/],
    [{ kv: [], tensors: [t({ type: GgmlType.Q8_0, dims: [16, 2], data: bytes(34, 0) })] }, /row of 16/],
    [{ kv: [], tensors: [t({ type: 99 as GgmlType })] }, /unsupported type unknown\(99\)/],
    [{ kv: [], tensors: [], alignment: 48 }, /power of two/],
    [{ kv: [kv.u32('general.alignment', 64)], tensors: [], alignment: 32 }, /contradicts/],
    [{ kv: [kv.u64('general.alignment', 64)], tensors: [] }, /UINT32 power of two/],
    [{ kv: [], tensors: [], version: 1 as 2 }, /version 1/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(
      () => serializeGguf(spec),
      (e) => e instanceof GgufError && re.test(e.message),
      String(re),
    );
  }
  // writeGguf validates before creating the file.
  const path = tmpPath('never.gguf');
  assert.throws(() => writeGguf(path, cases[0][0]), GgufError);
  assert.throws(() => statSync(path), /ENOENT/);
});

test('headers far beyond the initial 64 KiB buffer encode correctly', () => {
  // Values of every width straddle the buffer growths.
  const tokens = Array.from({ length: 30000 }, (_, i) => `tok${i}▁`);
  const scores = Array.from({ length: 30000 }, (_, i) => i / 4);
  const spec = {
    kv: [
      kv.arr('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
      kv.arr('tokenizer.ggml.scores', GgufValueType.FLOAT32, scores),
      kv.u64('after', 2n ** 63n),
    ],
    tensors: TENSORS,
  };
  const f = openGguf(tmpFile(serializeGguf(spec)));
  assert.deepEqual(f.metadata.get('tokenizer.ggml.tokens'), tokens);
  assert.deepEqual(plain(f.metadata.get('tokenizer.ggml.scores')), scores);
  assert.equal(f.metadata.get('after'), 2n ** 63n);
  assert.deepEqual(f.readTensor(f.tensor('bf16')!), TENSORS[5].data);
  f.close();
});

test('numeric metadata arrays come back as typed arrays of their element type', () => {
  const spec = {
    kv: [
      kv.arr('u8', GgufValueType.UINT8, [0, 255]),
      kv.arr('i8', GgufValueType.INT8, [-128, 127]),
      kv.arr('u16', GgufValueType.UINT16, [65535]),
      kv.arr('i16', GgufValueType.INT16, [-32768]),
      kv.arr('u32', GgufValueType.UINT32, [0xffffffff]),
      kv.arr('i32', GgufValueType.INT32, [-5, 7]),
      kv.arr('f32', GgufValueType.FLOAT32, [0.5, -1.25]),
      kv.arr('f64', GgufValueType.FLOAT64, [Math.PI]),
      kv.arr('u64', GgufValueType.UINT64, [2n ** 64n - 1n]),
      kv.arr('i64', GgufValueType.INT64, [-(2n ** 63n)]),
      kv.arr('bools', GgufValueType.BOOL, [true, false]),
    ],
    tensors: [],
  };
  const f = openGguf(tmpFile(serializeGguf(spec)));
  const expect: [string, unknown, unknown[]][] = [
    ['u8', Uint8Array, [0, 255]],
    ['i8', Int8Array, [-128, 127]],
    ['u16', Uint16Array, [65535]],
    ['i16', Int16Array, [-32768]],
    ['u32', Uint32Array, [0xffffffff]],
    ['i32', Int32Array, [-5, 7]],
    ['f32', Float32Array, [0.5, -1.25]],
    ['f64', Float64Array, [Math.PI]],
    ['u64', BigUint64Array, [2n ** 64n - 1n]],
    ['i64', BigInt64Array, [-(2n ** 63n)]],
  ];
  for (const [key, type, values] of expect) {
    const v = f.metadata.get(key);
    assert.equal(Object.getPrototypeOf(v)?.constructor, type, key);
    assert.deepEqual(Array.from(v as ArrayLike<unknown>), values, key);
  }
  assert.deepEqual(f.metadata.get('bools'), [true, false]);
  f.close();
  // What was read writes back unchanged (models are edited this way in tests and tools).
  const again = openGguf(tmpFile(serializeGguf({ kv: [...f.kv], tensors: [] })));
  assert.deepEqual(again.metadata.get('f32'), f.metadata.get('f32'));
  again.close();
});
