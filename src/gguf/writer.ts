// GGUF v3 (or v2, the same layout) writer. The header — magic, version, counts, metadata, tensor infos — is
// built in memory and padded to the alignment; tensor data is then streamed to the file one tensor at a time,
// each padded to the alignment, so files larger than any single buffer can be written.
// Layout per ggml's docs/gguf.md; limits (4 dims, names < 64 bytes) as gguf.cpp enforces them on read.
import { closeSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { checkKv } from './kv.js';
import {
  BLOCK_LAYOUT,
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ALIGNMENT,
  type GgmlType,
  GgufError,
  type GgufKv,
  type GgufScalar,
  GgufValueType,
  ggmlTypeName,
} from './types.js';

export { kv, kvOf } from './kv.js';

export interface GgufTensorData {
  name: string;
  /** ggml order: dims[0] is the contiguous (innermost) dimension. */
  dims: number[];
  type: GgmlType;
  /**
   * The tensor's bytes; or a function that makes them when the tensor is written (so that a file larger
   * than memory can be written); or 'zeros', left as a hole in the file (sparse where the file system allows).
   */
  data: Uint8Array | (() => Uint8Array) | 'zeros';
}

export interface GgufFileSpec {
  kv: GgufKv[];
  tensors: GgufTensorData[];
  /** Data alignment; defaults to `general.alignment` from kv, else 32. */
  alignment?: number;
  version?: 2 | 3;
}

const WRITE_CHUNK = 1 << 30; // writeSync takes at most 2^31-1 bytes per call

/**
 * Growable little-endian byte buffer for the header. `reserve` may replace buf/view, so every write calls it
 * before touching them.
 */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.length + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  i8(v: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  i16(v: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, true);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  u64(v: number | bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  i64(v: number | bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt(v), true);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }
  padTo(alignment: number): void {
    this.reserve(padding(this.length, alignment)); // fresh capacity is zero-filled
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function padding(size: number, alignment: number): number {
  return (alignment - (size % alignment)) % alignment;
}

function writeScalar(out: ByteSink, t: GgufValueType, v: GgufScalar): void {
  switch (t) {
    case GgufValueType.UINT8:
      out.u8(v as number);
      return;
    case GgufValueType.INT8:
      out.i8(v as number);
      return;
    case GgufValueType.UINT16:
      out.u16(v as number);
      return;
    case GgufValueType.INT16:
      out.i16(v as number);
      return;
    case GgufValueType.UINT32:
      out.u32(v as number);
      return;
    case GgufValueType.INT32:
      out.i32(v as number);
      return;
    case GgufValueType.FLOAT32:
      out.f32(v as number);
      return;
    case GgufValueType.FLOAT64:
      out.f64(v as number);
      return;
    case GgufValueType.UINT64:
      out.u64(v as number | bigint);
      return;
    case GgufValueType.INT64:
      out.i64(v as number | bigint);
      return;
    case GgufValueType.BOOL:
      out.u8(v ? 1 : 0);
      return;
    case GgufValueType.STRING:
      out.string(v as string);
      return;
    default:
      throw new GgufError(`unknown value type ${t}`); // unreachable after checkKv
  }
}

function writeKv(out: ByteSink, e: GgufKv): void {
  out.string(e.key);
  out.u32(e.type);
  if (e.type !== GgufValueType.ARRAY) {
    writeScalar(out, e.type, e.value as GgufScalar);
    return;
  }
  const values = e.value as ArrayLike<GgufScalar>;
  out.u32(e.arrayType as GgufValueType);
  out.u64(values.length);
  for (let i = 0; i < values.length; i++) writeScalar(out, e.arrayType as GgufValueType, values[i]);
}

function isPowerOfTwo(a: number): boolean {
  return Number.isInteger(a) && a > 0 && a <= GGUF_MAX_ALIGNMENT && (a & (a - 1)) === 0;
}

/** Picks the alignment and returns the kv list to write (general.alignment added when not the default). */
function resolveAlignment(spec: GgufFileSpec): { alignment: number; kv: GgufKv[] } {
  const entry = spec.kv.find((e) => e.key === 'general.alignment');
  if (entry) {
    const a = entry.value;
    if (entry.type !== GgufValueType.UINT32 || typeof a !== 'number' || !isPowerOfTwo(a)) {
      throw new GgufError(
        `general.alignment must be a UINT32 power of two up to ${GGUF_MAX_ALIGNMENT}, got ${String(a)}`,
      );
    }
    if (spec.alignment !== undefined && spec.alignment !== a) {
      throw new GgufError(`alignment ${spec.alignment} contradicts general.alignment ${a}`);
    }
    return { alignment: a, kv: spec.kv };
  }
  const alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!isPowerOfTwo(alignment)) {
    throw new GgufError(`alignment must be a power of two up to ${GGUF_MAX_ALIGNMENT}, got ${alignment}`);
  }
  if (alignment === GGUF_DEFAULT_ALIGNMENT) return { alignment, kv: spec.kv };
  // Readers assume 32 unless told otherwise, so any other alignment must be recorded.
  const kv: GgufKv = { key: 'general.alignment', type: GgufValueType.UINT32, value: alignment };
  return { alignment, kv: [...spec.kv, kv] };
}

/** Throws unless the tensor is well-formed; returns its data size in bytes. */
function checkTensor(t: GgufTensorData): number {
  const bad = (why: string): never => {
    throw new GgufError(`tensor "${t.name}": ${why}`);
  };
  if (typeof t.name !== 'string' || t.name.length === 0) bad('empty name');
  if (Buffer.byteLength(t.name, 'utf8') > GGML_MAX_NAME_BYTES)
    bad(`name longer than ${GGML_MAX_NAME_BYTES} bytes`);
  const layout = BLOCK_LAYOUT[t.type];
  if (!layout) return bad(`unsupported type ${ggmlTypeName(t.type)}`);
  if (t.dims.length < 1 || t.dims.length > GGML_MAX_DIMS)
    bad(`${t.dims.length} dimensions (1..${GGML_MAX_DIMS} allowed)`);
  let elements = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 1) bad(`dimension ${d} is not a positive integer`);
    elements *= d;
  }
  if (!Number.isSafeInteger(elements)) bad(`${t.dims.join('×')} elements overflow`);
  if (t.dims[0] % layout.elements !== 0) {
    bad(`row of ${t.dims[0]} is not a multiple of the ${ggmlTypeName(t.type)} block (${layout.elements})`);
  }
  const bytes = (elements / layout.elements) * layout.bytes;
  if (t.data instanceof Uint8Array) checkDataLength(t, t.data, bytes);
  return bytes;
}

function checkDataLength(t: GgufTensorData, data: Uint8Array, bytes: number): void {
  if (data.length !== bytes) {
    throw new GgufError(
      `tensor "${t.name}": ${t.dims.join('×')} ${ggmlTypeName(t.type)} needs ${bytes} bytes, got ${data.length}`,
    );
  }
}

/** A tensor's bytes as written: made now if lazy, or null for a hole of zeros. */
function tensorBytes(t: GgufTensorData, bytes: number): Uint8Array | null {
  if (t.data === 'zeros') return null;
  const data = typeof t.data === 'function' ? t.data() : t.data;
  checkDataLength(t, data, bytes);
  return data;
}

interface Plan {
  header: Uint8Array;
  alignment: number;
  /** Total file size: the header and every tensor, each padded to the alignment. */
  size: number;
  /** Data bytes of each tensor. */
  sizes: number[];
}

/** Validates the spec and encodes the header (padded to the alignment). */
function plan(spec: GgufFileSpec): Plan {
  const version = spec.version ?? 3;
  if (version !== 2 && version !== 3) throw new GgufError(`cannot write GGUF version ${String(version)}`);
  const { alignment, kv } = resolveAlignment(spec);
  const keys = new Set<string>();
  for (const e of kv) {
    checkKv(e);
    if (keys.has(e.key)) throw new GgufError(`duplicate metadata key "${e.key}"`);
    keys.add(e.key);
  }
  const names = new Set<string>();
  const sizes = spec.tensors.map((t) => {
    const bytes = checkTensor(t);
    if (names.has(t.name)) throw new GgufError(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    return bytes;
  });

  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(version);
  out.u64(spec.tensors.length);
  out.u64(kv.length);
  for (const e of kv) writeKv(out, e);
  let offset = 0;
  spec.tensors.forEach((t, i) => {
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.type);
    out.u64(offset);
    offset += sizes[i] + padding(sizes[i], alignment);
  });
  // Without tensors there is no data section to align; llama.cpp's vocab-only files end right after the header.
  if (spec.tensors.length > 0) out.padTo(alignment);
  return { header: out.bytes(), alignment, size: out.length + offset, sizes };
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) {
    done += writeSync(fd, data, done, Math.min(WRITE_CHUNK, data.length - done), position + done);
  }
}

/** Writes a GGUF file, streaming tensor data piece by piece; a partly written file is removed on failure. */
export function writeGguf(path: string, file: GgufFileSpec): void {
  const { header, alignment, size, sizes } = plan(file);
  const fd = openSync(path, 'w');
  let complete = false;
  try {
    writeAll(fd, header, 0);
    let at = header.length;
    file.tensors.forEach((t, i) => {
      const data = tensorBytes(t, sizes[i]);
      if (data) writeAll(fd, data, at);
      at += sizes[i] + padding(sizes[i], alignment);
    });
    // Padding and holes are zeros: extending the file supplies them without writing.
    ftruncateSync(fd, size);
    complete = true;
  } finally {
    closeSync(fd);
    if (!complete) unlinkSync(path);
  }
}

/** The bytes writeGguf would write, in one buffer (for small files and tests). */
export function serializeGguf(file: GgufFileSpec): Uint8Array {
  const { header, alignment, size, sizes } = plan(file);
  const out = new Uint8Array(size);
  out.set(header);
  let at = header.length;
  file.tensors.forEach((t, i) => {
    const data = tensorBytes(t, sizes[i]);
    if (data) out.set(data, at);
    at += sizes[i] + padding(sizes[i], alignment);
  });
  return out;
}
