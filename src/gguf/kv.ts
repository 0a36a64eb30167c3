// Building metadata entries for the writer: kvOf infers a GGUF value type from a JS value, `kv.*` names it
// explicitly, and checkKv validates any GgufKv (hand-built ones too) before it is encoded.
import { GgufError, type GgufKv, type GgufNumericArray, type GgufScalar, GgufValueType } from './types.js';

const INT_RANGES: Partial<Record<GgufValueType, [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function typeName(t: GgufValueType): string {
  return GgufValueType[t] ?? `unknown(${t})`;
}

/** Throws unless `v` can be stored as a scalar of type `t`. */
function checkScalar(key: string, t: GgufValueType, v: GgufScalar): void {
  const bad = (why: string): never => {
    throw new GgufError(`metadata "${key}": ${why}`);
  };
  const range = INT_RANGES[t];
  if (range) {
    if (typeof v !== 'number' || !Number.isInteger(v))
      bad(`${typeName(t)} needs an integer, got ${String(v)}`);
    if ((v as number) < range[0] || (v as number) > range[1])
      bad(`${String(v)} is out of ${typeName(t)} range`);
    return;
  }
  switch (t) {
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof v !== 'number') bad(`${typeName(t)} needs a number, got ${typeof v}`);
      return;
    case GgufValueType.BOOL:
      if (typeof v !== 'boolean') bad(`BOOL needs a boolean, got ${typeof v}`);
      return;
    case GgufValueType.STRING:
      if (typeof v !== 'string') bad(`STRING needs a string, got ${typeof v}`);
      return;
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      if (typeof v === 'number' && !Number.isSafeInteger(v))
        bad(`${typeName(t)} needs an integer or bigint, got ${v}`);
      if (typeof v !== 'number' && typeof v !== 'bigint') bad(`${typeName(t)} needs an integer or bigint`);
      const b = BigInt(v as number | bigint);
      const [lo, hi] = t === GgufValueType.UINT64 ? [0n, U64_MAX] : [I64_MIN, I64_MAX];
      if (b < lo || b > hi) bad(`${b} is out of ${typeName(t)} range`);
      return;
    }
    default:
      bad(`unknown value type ${typeName(t)}`);
  }
}

/** Throws a GgufError naming the key unless the entry can be written as it stands. */
export function checkKv(e: GgufKv): void {
  if (typeof e.key !== 'string') throw new GgufError('metadata key must be a string');
  if (e.type !== GgufValueType.ARRAY) {
    if (Array.isArray(e.value) || ArrayBuffer.isView(e.value))
      throw new GgufError(`metadata "${e.key}": array value for a ${typeName(e.type)}`);
    checkScalar(e.key, e.type, e.value);
    return;
  }
  const values = e.value;
  if (!Array.isArray(values) && !ArrayBuffer.isView(values))
    throw new GgufError(`metadata "${e.key}": ARRAY needs an array value`);
  if (e.arrayType === undefined) throw new GgufError(`metadata "${e.key}": ARRAY needs an arrayType`);
  if (e.arrayType === GgufValueType.ARRAY)
    throw new GgufError(`metadata "${e.key}": nested arrays are not supported`);
  for (let i = 0; i < values.length; i++) checkScalar(e.key, e.arrayType, values[i]);
}

function make(key: string, type: GgufValueType, value: GgufScalar): GgufKv {
  const e: GgufKv = { key, type, value };
  checkKv(e);
  return e;
}

/** Explicitly typed metadata entries; each checks its value's range. */
export const kv = {
  u8: (key: string, v: number) => make(key, GgufValueType.UINT8, v),
  i8: (key: string, v: number) => make(key, GgufValueType.INT8, v),
  u16: (key: string, v: number) => make(key, GgufValueType.UINT16, v),
  i16: (key: string, v: number) => make(key, GgufValueType.INT16, v),
  u32: (key: string, v: number) => make(key, GgufValueType.UINT32, v),
  i32: (key: string, v: number) => make(key, GgufValueType.INT32, v),
  u64: (key: string, v: number | bigint) => make(key, GgufValueType.UINT64, v),
  i64: (key: string, v: number | bigint) => make(key, GgufValueType.INT64, v),
  f32: (key: string, v: number) => make(key, GgufValueType.FLOAT32, v),
  f64: (key: string, v: number) => make(key, GgufValueType.FLOAT64, v),
  bool: (key: string, v: boolean) => make(key, GgufValueType.BOOL, v),
  str: (key: string, v: string) => make(key, GgufValueType.STRING, v),
  arr(key: string, arrayType: GgufValueType, values: readonly GgufScalar[] | GgufNumericArray): GgufKv {
    const value = ArrayBuffer.isView(values) ? values.slice() : [...(values as readonly GgufScalar[])];
    const e: GgufKv = { key, type: GgufValueType.ARRAY, arrayType, value };
    checkKv(e);
    return e;
  },
};

const isInt32 = (v: number) => Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;

function inferScalar(key: string, v: GgufScalar): GgufValueType {
  if (typeof v === 'string') return GgufValueType.STRING;
  if (typeof v === 'boolean') return GgufValueType.BOOL;
  if (typeof v === 'bigint') return v < 0n ? GgufValueType.INT64 : GgufValueType.UINT64;
  if (!Number.isInteger(v)) return GgufValueType.FLOAT32;
  if (v >= 0 && v <= 0xffffffff) return GgufValueType.UINT32;
  if (v >= -0x80000000 && v < 0) return GgufValueType.INT32;
  throw new GgufError(`metadata "${key}": ${v} does not fit 32 bits; use kv.u64, kv.i64 or kv.f64`);
}

/**
 * A metadata entry with its type inferred: string → STRING, boolean → BOOL, integer → UINT32 (or INT32 when
 * negative), other numbers → FLOAT32, bigint → UINT64 (INT64 when negative), string[] → ARRAY of STRING,
 * boolean[] → ARRAY of BOOL, number[] → ARRAY of INT32 when all are 32-bit integers, else of FLOAT32.
 * An empty array becomes ARRAY of INT32; use kv.arr for any other element type.
 */
export function kvOf(key: string, value: GgufScalar | readonly GgufScalar[]): GgufKv {
  if (!Array.isArray(value)) return make(key, inferScalar(key, value as GgufScalar), value as GgufScalar);
  const values = value as readonly GgufScalar[];
  let arrayType = GgufValueType.INT32;
  if (values.length > 0) {
    const first = typeof values[0];
    if (!values.every((v) => typeof v === first))
      throw new GgufError(`metadata "${key}": mixed array element types`);
    if (first === 'string') arrayType = GgufValueType.STRING;
    else if (first === 'boolean') arrayType = GgufValueType.BOOL;
    else if (first === 'number') {
      arrayType = (values as number[]).every(isInt32) ? GgufValueType.INT32 : GgufValueType.FLOAT32;
    } else throw new GgufError(`metadata "${key}": cannot infer an array type for ${first}; use kv.arr`);
  }
  return kv.arr(key, arrayType, values);
}
