// GGUF v2/v3 reader. The header is parsed through a small buffered cursor over a file descriptor, and tensor
// data is read on demand, so files larger than any single ArrayBuffer load. Every count and size read from
// the file is checked against what the file could possibly hold before anything is allocated.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  BLOCK_LAYOUT,
  GgmlType,
  GgufError,
  type GgufKv,
  type GgufScalar,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
  ggmlTypeName,
} from './types.js';

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_DIMS = 4;
const MAX_STRING_BYTES = 1 << 28;
const DEFAULT_ALIGNMENT = 32;

const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Buffered little-endian cursor over a file descriptor. */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  fail(message: string): never {
    throw new GgufError(`${message} (at byte ${this.pos})`, this.path);
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  /** Makes `n` bytes at `pos` available in `buf`; returns their offset in `buf`. */
  private need(n: number): number {
    if (n > this.remaining) this.fail(`file truncated: needed ${n} more bytes, ${this.remaining} left`);
    const off = this.pos - this.bufStart;
    if (off >= 0 && off + n <= this.buf.length) return off;
    const len = Math.min(Math.max(n, 1 << 20), this.remaining);
    this.buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const r = readSync(this.fd, this.buf, got, len - got, this.pos + got);
      if (r === 0) this.fail('unexpected end of file');
      got += r;
    }
    this.bufStart = this.pos;
    return 0;
  }

  u8(): number {
    const o = this.need(1);
    this.pos += 1;
    return this.buf.readUInt8(o);
  }
  i8(): number {
    const o = this.need(1);
    this.pos += 1;
    return this.buf.readInt8(o);
  }
  u16(): number {
    const o = this.need(2);
    this.pos += 2;
    return this.buf.readUInt16LE(o);
  }
  i16(): number {
    const o = this.need(2);
    this.pos += 2;
    return this.buf.readInt16LE(o);
  }
  u32(): number {
    const o = this.need(4);
    this.pos += 4;
    return this.buf.readUInt32LE(o);
  }
  i32(): number {
    const o = this.need(4);
    this.pos += 4;
    return this.buf.readInt32LE(o);
  }
  f32(): number {
    const o = this.need(4);
    this.pos += 4;
    return this.buf.readFloatLE(o);
  }
  f64(): number {
    const o = this.need(8);
    this.pos += 8;
    return this.buf.readDoubleLE(o);
  }
  u64big(): bigint {
    const o = this.need(8);
    this.pos += 8;
    return this.buf.readBigUInt64LE(o);
  }
  i64big(): bigint {
    const o = this.need(8);
    this.pos += 8;
    return this.buf.readBigInt64LE(o);
  }
  /** A u64 that must be a count or offset: it has to fit in a safe integer and be at most `max`. */
  count(what: string, max: number): number {
    const v = this.u64big();
    if (v > BigInt(max)) this.fail(`${what} ${v} is impossible for a file of ${this.size} bytes`);
    return Number(v);
  }
  string(what: string): string {
    const len = this.count(`length of ${what}`, Math.min(this.remaining - 8, MAX_STRING_BYTES));
    const o = this.need(len);
    this.pos += len;
    return this.buf.toString('utf8', o, o + len);
  }
}

function narrow64(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readScalar(c: Cursor, type: GgufValueType, key: string): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8:
      return c.u8();
    case GgufValueType.INT8:
      return c.i8();
    case GgufValueType.UINT16:
      return c.u16();
    case GgufValueType.INT16:
      return c.i16();
    case GgufValueType.UINT32:
      return c.u32();
    case GgufValueType.INT32:
      return c.i32();
    case GgufValueType.FLOAT32:
      return c.f32();
    case GgufValueType.FLOAT64:
      return c.f64();
    case GgufValueType.UINT64:
      return narrow64(c.u64big());
    case GgufValueType.INT64:
      return narrow64(c.i64big());
    case GgufValueType.BOOL: {
      const b = c.u8();
      if (b > 1) c.fail(`metadata "${key}": invalid bool byte ${b}`);
      return b === 1;
    }
    case GgufValueType.STRING:
      return c.string(`string value of "${key}"`);
    default:
      return c.fail(`metadata "${key}": unknown value type ${type}`);
  }
}

function readKv(c: Cursor): GgufKv {
  const key = c.string('metadata key');
  const type = c.u32() as GgufValueType;
  if (type !== GgufValueType.ARRAY) return { key, type, value: readScalar(c, type, key) };
  const arrayType = c.u32() as GgufValueType;
  if (arrayType === GgufValueType.ARRAY) c.fail(`metadata "${key}": nested arrays are not supported`);
  const minBytes = arrayType === GgufValueType.STRING ? 8 : SCALAR_BYTES[arrayType];
  if (minBytes === undefined) c.fail(`metadata "${key}": unknown array element type ${arrayType}`);
  const n = c.count(`element count of array "${key}"`, Math.floor((c.remaining - 8) / minBytes));
  const value: GgufScalar[] = new Array(n);
  for (let i = 0; i < n; i++) value[i] = readScalar(c, arrayType, key);
  return { key, type, arrayType, value };
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly size: number;
  readonly kv: readonly GgufKv[];
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset where tensor data begins. */
  readonly dataOffset: number;
  tensor(name: string): GgufTensorInfo | undefined;
  /** Reads a tensor's raw bytes into `into` (or a new buffer). */
  readTensor(info: GgufTensorInfo, into?: Uint8Array): Uint8Array;
  close(): void;
}

/** Opens and validates a GGUF file; tensor data is read later with `readTensor`. */
export function openGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new GgufError(`cannot open: ${(e as Error).message}`, path);
  }
  try {
    return parse(fd, path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function parse(fd: number, path: string): GgufFile {
  const size = fstatSync(fd).size;
  const c: Cursor = new Cursor(fd, size, path);
  if (size < 24) c.fail(`file too small to be GGUF (${size} bytes)`);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    const shown = Buffer.alloc(4);
    shown.writeUInt32LE(magic);
    c.fail(`not a GGUF file: bad magic ${JSON.stringify(shown.toString('latin1'))}, expected "GGUF"`);
  }
  const version = c.u32();
  if (version !== 2 && version !== 3)
    c.fail(`unsupported GGUF version ${version} (only 2 and 3 are supported)`);
  // Each tensor info takes at least 8+4+8+4+8 bytes, each kv at least 8+4+1.
  const nTensors = c.count('tensor count', Math.floor(c.remaining / 32));
  const nKv = c.count('metadata count', Math.floor(c.remaining / 13));

  const kv: GgufKv[] = [];
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const entry = readKv(c);
    if (metadata.has(entry.key)) c.fail(`duplicate metadata key "${entry.key}"`);
    kv.push(entry);
    metadata.set(entry.key, entry.value);
  }

  let alignment = DEFAULT_ALIGNMENT;
  const a = metadata.get('general.alignment');
  if (a !== undefined) {
    if (typeof a !== 'number' || a <= 0 || (a & (a - 1)) !== 0 || a > 1 << 16) {
      c.fail(`general.alignment must be a power of two, got ${String(a)}`);
    }
    alignment = a;
  }

  const tensors: GgufTensorInfo[] = [];
  const byName = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string('tensor name');
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS)
      c.fail(`tensor "${name}" has ${nDims} dimensions (1..${MAX_DIMS} allowed)`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.count(`dimension ${d} of tensor "${name}"`, Number.MAX_SAFE_INTEGER);
      if (n === 0) c.fail(`tensor "${name}" has a zero dimension`);
      elements *= n;
      if (elements > size * 2)
        c.fail(`tensor "${name}" has ${elements}+ elements, impossible in ${size} bytes`);
      dims.push(n);
    }
    const type = c.u32() as GgmlType;
    const layout = BLOCK_LAYOUT[type];
    if (!layout || GgmlType[type] === undefined)
      c.fail(`tensor "${name}" has unknown type ${ggmlTypeName(type)}`);
    if (dims[0] % layout.elements !== 0) {
      c.fail(
        `tensor "${name}": row of ${dims[0]} is not a multiple of the ${ggmlTypeName(type)} block (${layout.elements})`,
      );
    }
    const offset = c.count(`data offset of tensor "${name}"`, size);
    if (offset % alignment !== 0)
      c.fail(`tensor "${name}" data offset ${offset} is not aligned to ${alignment}`);
    if (byName.has(name)) c.fail(`duplicate tensor name "${name}"`);
    const info: GgufTensorInfo = {
      name,
      dims,
      type,
      offset,
      elements,
      bytes: (elements / layout.elements) * layout.bytes,
    };
    tensors.push(info);
    byName.set(name, info);
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.bytes;
    if (end > size) {
      throw new GgufError(
        `tensor "${t.name}" data [${dataOffset + t.offset}, ${end}) runs past the end of the file (${size} bytes)`,
        path,
      );
    }
  }

  let closed = false;
  return {
    path,
    version,
    size,
    kv,
    metadata,
    tensors,
    alignment,
    dataOffset,
    tensor: (name) => byName.get(name),
    readTensor(info, into) {
      if (closed) throw new GgufError('file is closed', path);
      const out = into ?? new Uint8Array(info.bytes);
      if (out.length < info.bytes) throw new GgufError(`buffer too small for tensor "${info.name}"`, path);
      let got = 0;
      while (got < info.bytes) {
        const chunk = Math.min(info.bytes - got, 1 << 30);
        const r = readSync(fd, out, got, chunk, dataOffset + info.offset + got);
        if (r === 0) throw new GgufError(`unexpected end of file reading tensor "${info.name}"`, path);
        got += r;
      }
      return out;
    },
    close() {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

/** Typed metadata accessors that name the key in their errors. */
export class Metadata {
  constructor(
    private readonly map: ReadonlyMap<string, GgufValue>,
    private readonly path = '',
  ) {}

  has(key: string): boolean {
    return this.map.has(key);
  }
  raw(key: string): GgufValue | undefined {
    return this.map.get(key);
  }
  private err(msg: string): never {
    throw new GgufError(msg, this.path || undefined);
  }
  number(key: string, fallback?: number): number {
    const v = this.map.get(key);
    if (v === undefined) return fallback ?? this.err(`missing metadata "${key}"`);
    if (typeof v !== 'number') this.err(`metadata "${key}" should be a number, got ${typeof v}`);
    return v;
  }
  string(key: string, fallback?: string): string {
    const v = this.map.get(key);
    if (v === undefined) return fallback ?? this.err(`missing metadata "${key}"`);
    if (typeof v !== 'string') this.err(`metadata "${key}" should be a string, got ${typeof v}`);
    return v;
  }
  bool(key: string, fallback?: boolean): boolean {
    const v = this.map.get(key);
    if (v === undefined) return fallback ?? this.err(`missing metadata "${key}"`);
    if (typeof v !== 'boolean') this.err(`metadata "${key}" should be a bool, got ${typeof v}`);
    return v;
  }
  strings(key: string): string[] | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      this.err(`metadata "${key}" should be a string array`);
    return v as string[];
  }
  numbers(key: string): number[] | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number'))
      this.err(`metadata "${key}" should be a number array`);
    return v as number[];
  }
}
