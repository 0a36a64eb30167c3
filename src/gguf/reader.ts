// GGUF v2/v3 reader. The header is parsed through a small buffered cursor over a byte source (a file descriptor
// under Node, a Blob in a browser: ./source.ts), and tensor data is read on demand, so files larger than any
// single ArrayBuffer load. Every count and size read from the file is checked against what the file could
// possibly hold before anything is allocated.

import { fileProblem } from '../errors.js';
import { host } from '../host/index.js';
import { quoted } from '../text/safe.js';
import type { ByteSource } from './source.js';
import {
  BLOCK_LAYOUT,
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ALIGNMENT,
  GgmlType,
  GgufError,
  type GgufKv,
  type GgufNumericArray,
  type GgufScalar,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
  ggmlTypeName,
} from './types.js';

const HEADER_BYTES = 24; // magic, version, tensor count, kv count
const MAX_STRING_BYTES = 1 << 28;
/** The GGUF specification limits keys to 2^16 - 1 bytes. */
const MAX_KEY_BYTES = 0xffff;
/**
 * Caps on metadata array lengths, far above any real model's (the largest vocabularies and merge lists have
 * about 260k entries) and far below what exhausts memory: in a multi-GB file a single flipped count could
 * otherwise ask for hundreds of millions of elements.
 */
export const MAX_ARRAY_ELEMENTS = 1 << 24;
export const MAX_STRING_ARRAY_ELEMENTS = 1 << 22;
// No supported type packs more than 256 elements into 84 bytes (Q2_K), so a tensor whose element count exceeds
// 4× the file size cannot fit; checking this while multiplying dims keeps the product a small exact integer.
const MAX_ELEMENTS_PER_BYTE = 4;

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

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Buffered little-endian cursor over a byte source. */
class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly src: ByteSource,
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
    this.buf = new Uint8Array(len);
    this.view = new DataView(this.buf.buffer);
    let got = 0;
    while (got < len) {
      const r = this.src.read(this.buf, got, len - got, this.pos + got);
      if (r === 0) this.fail('unexpected end of file');
      got += r;
    }
    this.bufStart = this.pos;
    return 0;
  }

  u8(): number {
    const o = this.need(1);
    this.pos += 1;
    return this.buf[o];
  }
  i8(): number {
    const o = this.need(1);
    this.pos += 1;
    return this.view.getInt8(o);
  }
  u16(): number {
    const o = this.need(2);
    this.pos += 2;
    return this.view.getUint16(o, true);
  }
  i16(): number {
    const o = this.need(2);
    this.pos += 2;
    return this.view.getInt16(o, true);
  }
  u32(): number {
    const o = this.need(4);
    this.pos += 4;
    return this.view.getUint32(o, true);
  }
  i32(): number {
    const o = this.need(4);
    this.pos += 4;
    return this.view.getInt32(o, true);
  }
  f32(): number {
    const o = this.need(4);
    this.pos += 4;
    return this.view.getFloat32(o, true);
  }
  f64(): number {
    const o = this.need(8);
    this.pos += 8;
    return this.view.getFloat64(o, true);
  }
  u64big(): bigint {
    const o = this.need(8);
    this.pos += 8;
    return this.view.getBigUint64(o, true);
  }
  i64big(): bigint {
    const o = this.need(8);
    this.pos += 8;
    return this.view.getBigInt64(o, true);
  }
  /**
   * A u64 count or offset, at most `max(remaining bytes after it)`: anything larger could not be backed by the
   * file, so it is rejected before anything is allocated for it.
   */
  count(what: string, max: (remaining: number) => number): number {
    const v = this.u64big();
    const limit = Math.max(0, Math.floor(max(this.remaining)));
    if (v > BigInt(limit)) {
      this.pos -= 8;
      this.fail(
        `${what} ${v} is impossible: at most ${limit} fit in the ${this.size}-byte file (corrupt or truncated)`,
      );
    }
    return Number(v);
  }
  string(what: string, maxBytes = MAX_STRING_BYTES): string {
    const len = this.count(`length of ${what}`, (left) => left);
    if (len > maxBytes) {
      this.pos -= 8;
      this.fail(`${what} is ${len} bytes long, more than the ${maxBytes} allowed`);
    }
    const o = this.need(len);
    this.pos += len;
    return utf8.decode(this.buf.subarray(o, o + len));
  }
  /** Fills `dst` with the next dst.length bytes, reading large spans straight from the file. */
  readInto(dst: Uint8Array): void {
    const n = dst.length;
    if (n > this.remaining) this.fail(`file truncated: needed ${n} more bytes, ${this.remaining} left`);
    let got = 0;
    const off = this.pos - this.bufStart;
    if (off >= 0 && off < this.buf.length) {
      got = Math.min(n, this.buf.length - off);
      dst.set(this.buf.subarray(off, off + got));
    }
    while (got < n) {
      const r = this.src.read(dst, got, n - got, this.pos + got);
      if (r === 0) this.fail('unexpected end of file');
      got += r;
    }
    this.pos += n;
  }
}

type TypedArrayMaker = (buffer: ArrayBuffer, length: number) => GgufNumericArray;

/** Numeric element types read straight into a typed array (GGUF is little-endian, as is every host we run on). */
const TYPED: Partial<Record<GgufValueType, TypedArrayMaker>> = {
  [GgufValueType.UINT8]: (b, n) => new Uint8Array(b, 0, n),
  [GgufValueType.INT8]: (b, n) => new Int8Array(b, 0, n),
  [GgufValueType.UINT16]: (b, n) => new Uint16Array(b, 0, n),
  [GgufValueType.INT16]: (b, n) => new Int16Array(b, 0, n),
  [GgufValueType.UINT32]: (b, n) => new Uint32Array(b, 0, n),
  [GgufValueType.INT32]: (b, n) => new Int32Array(b, 0, n),
  [GgufValueType.FLOAT32]: (b, n) => new Float32Array(b, 0, n),
  [GgufValueType.FLOAT64]: (b, n) => new Float64Array(b, 0, n),
  [GgufValueType.UINT64]: (b, n) => new BigUint64Array(b, 0, n),
  [GgufValueType.INT64]: (b, n) => new BigInt64Array(b, 0, n),
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function narrow64(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** `key` is the metadata key as messages show it (quoted, escaped). */
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
      if (b > 1) c.fail(`metadata ${key}: invalid bool byte ${b}`);
      return b === 1;
    }
    case GgufValueType.STRING:
      return c.string(`string value of ${key}`);
    default:
      return c.fail(`metadata ${key}: unknown value type ${type}`);
  }
}

function readKv(c: Cursor): GgufKv {
  const key = c.string('metadata key', MAX_KEY_BYTES);
  const shown = quoted(key);
  const type = c.u32() as GgufValueType;
  if (type !== GgufValueType.ARRAY) return { key, type, value: readScalar(c, type, shown) };
  const arrayType = c.u32() as GgufValueType;
  if (arrayType === GgufValueType.ARRAY) c.fail(`metadata ${shown}: nested arrays are not supported`);
  const minBytes = arrayType === GgufValueType.STRING ? 8 : SCALAR_BYTES[arrayType];
  if (minBytes === undefined) c.fail(`metadata ${shown}: unknown array element type ${arrayType}`);
  const n = c.count(`element count of array ${shown}`, (left) => left / minBytes);
  const cap = arrayType === GgufValueType.STRING ? MAX_STRING_ARRAY_ELEMENTS : MAX_ARRAY_ELEMENTS;
  if (n > cap) {
    c.pos -= 8;
    c.fail(
      `array ${shown} has ${n} elements, more than the ${cap} allowed (${GgufValueType[arrayType]}; corrupt file?)`,
    );
  }
  const typed = TYPED[arrayType];
  if (typed && LITTLE_ENDIAN_HOST) {
    const bytes = new Uint8Array(n * minBytes);
    c.readInto(bytes);
    return { key, type, arrayType, value: typed(bytes.buffer, n) };
  }
  // Strings and booleans (and numbers on a big-endian host): grown by push rather than preallocated, so
  // memory only follows the bytes actually parsed.
  const value: GgufScalar[] = [];
  for (let i = 0; i < n; i++) value.push(readScalar(c, arrayType, shown));
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

/** Opens and validates a GGUF file (a path: Node only); tensor data is read later with `readTensor`. */
export function openGguf(path: string): GgufFile {
  let src: ByteSource;
  try {
    src = host.openFile(path);
  } catch (e) {
    if (e instanceof GgufError) throw e;
    throw new GgufError(`cannot open: ${fileProblem(e)}`, path);
  }
  return parseGguf(src, path);
}

/** Parses and validates GGUF from `src` (`path` names it in messages); the file owns `src` and closes it. */
export function parseGguf(src: ByteSource, path: string): GgufFile {
  try {
    return parse(src, path);
  } catch (e) {
    src.close();
    throw e;
  }
}

function parse(src: ByteSource, path: string): GgufFile {
  const size = src.size;
  const c: Cursor = new Cursor(src, size, path);
  if (size < 4) c.fail(`file too small to be GGUF (${size} bytes)`);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    const shown = String.fromCharCode(
      magic & 0xff,
      (magic >>> 8) & 0xff,
      (magic >>> 16) & 0xff,
      magic >>> 24,
    );
    c.fail(`not a GGUF file: bad magic ${JSON.stringify(shown)}, expected "GGUF"`);
  }
  if (size < HEADER_BYTES)
    c.fail(`file truncated: a GGUF header needs ${HEADER_BYTES} bytes, file has ${size}`);
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    // A big-endian file reads its version byte-swapped (gguf.cpp detects it the same way).
    const swapped = version & 0xffff ? '' : ' (the file looks big-endian, which is not supported)';
    c.fail(`unsupported GGUF version ${version}${swapped}; only versions 2 and 3 are supported`);
  }
  // Each tensor info takes at least 8 (name length) + 4 + 8 + 4 + 8 bytes, each kv at least 8 + 4 + 1.
  const nTensors = c.count('tensor count', (left) => (left - 8) / 32);
  const nKv = c.count('metadata count', (left) => left / 13);

  const kv: GgufKv[] = [];
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const entry = readKv(c);
    if (metadata.has(entry.key)) c.fail(`duplicate metadata key ${quoted(entry.key)}`);
    kv.push(entry);
    metadata.set(entry.key, entry.value);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = kv.find((e) => e.key === 'general.alignment');
  if (alignKv) {
    const a = alignKv.value;
    // gguf.cpp reads it with gguf_get_val_u32, so only a UINT32 is valid.
    if (
      alignKv.type !== GgufValueType.UINT32 ||
      typeof a !== 'number' ||
      a <= 0 ||
      a & (a - 1) ||
      a > GGUF_MAX_ALIGNMENT
    ) {
      c.fail(`general.alignment must be a UINT32 power of two up to ${GGUF_MAX_ALIGNMENT}, got ${String(a)}`);
    }
    alignment = a;
  }

  const tensors: GgufTensorInfo[] = [];
  const byName = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`name of tensor ${i}`, GGML_MAX_NAME_BYTES);
    const shown = quoted(name);
    if (byName.has(name)) c.fail(`duplicate tensor name ${shown}`);
    const nDims = c.u32();
    if (nDims < 1 || nDims > GGML_MAX_DIMS)
      c.fail(`tensor ${shown} has ${nDims} dimensions (1..${GGML_MAX_DIMS} allowed)`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.count(`dimension ${d} of tensor ${shown}`, () => size * MAX_ELEMENTS_PER_BYTE);
      if (n === 0) c.fail(`tensor ${shown} has a zero dimension`);
      elements *= n;
      if (elements > size * MAX_ELEMENTS_PER_BYTE)
        c.fail(`tensor ${shown} has ${dims.concat(n).join('×')}... elements, impossible in ${size} bytes`);
      dims.push(n);
    }
    const type = c.u32() as GgmlType;
    const layout = BLOCK_LAYOUT[type];
    if (!layout || GgmlType[type] === undefined)
      c.fail(`tensor ${shown} has unknown type ${ggmlTypeName(type)}`);
    if (dims[0] % layout.elements !== 0) {
      c.fail(
        `tensor ${shown}: row of ${dims[0]} is not a multiple of the ${ggmlTypeName(type)} block (${layout.elements})`,
      );
    }
    const offset = c.count(`data offset of tensor ${shown}`, () => size);
    if (offset % alignment !== 0)
      c.fail(`tensor ${shown} data offset ${offset} is not aligned to ${alignment}`);
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
  checkDataLayout(tensors, dataOffset, size, path);

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
      if (out.length < info.bytes)
        throw new GgufError(`buffer too small for tensor ${quoted(info.name)}`, path);
      let got = 0;
      while (got < info.bytes) {
        const chunk = Math.min(info.bytes - got, 1 << 30);
        const r = src.read(out, got, chunk, dataOffset + info.offset + got);
        if (r === 0) throw new GgufError(`unexpected end of file reading tensor ${quoted(info.name)}`, path);
        got += r;
      }
      return out;
    },
    close() {
      if (!closed) src.close();
      closed = true;
    },
  };
}

/** Every tensor's data must lie inside the file, and no two may share bytes. */
function checkDataLayout(
  tensors: readonly GgufTensorInfo[],
  dataOffset: number,
  size: number,
  path: string,
): void {
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.bytes;
    if (end > size) {
      throw new GgufError(
        `tensor ${quoted(t.name)} data [${dataOffset + t.offset}, ${end}) runs past the end of the file (${size} bytes)`,
        path,
      );
    }
  }
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const t = sorted[i];
    if (prev.offset + prev.bytes > t.offset) {
      throw new GgufError(
        `tensors ${quoted(prev.name)} [${prev.offset}, ${prev.offset + prev.bytes}) and ${quoted(t.name)} ` +
          `[${t.offset}, ${t.offset + t.bytes}) overlap in the data section`,
        path,
      );
    }
  }
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
  /** Every entry (e.g. to rebuild the tokenizer on a worker thread). */
  entries(): ReadonlyMap<string, GgufValue> {
    return this.map;
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
  /** A numeric array (typed, as read, or plain); 64-bit integers must be exact as numbers. */
  numbers(key: string): ArrayLike<number> | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = Number(v[i]);
        if (!Number.isSafeInteger(x)) this.err(`metadata "${key}"[${i}] = ${v[i]} is not exact as a number`);
        out[i] = x;
      }
      return out;
    }
    if (ArrayBuffer.isView(v)) return v as ArrayLike<number>;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number'))
      this.err(`metadata "${key}" should be a number array`);
    return v as number[];
  }
}
