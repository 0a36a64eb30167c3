// Element formats of ggml tensors: conversions for the float types and (de)quantization of the block types
// we support. The block layouts and formulas are documented in quants/legacy.ts and quants/k-quants.ts.
import { dequantQ4_K, dequantQ5_K, dequantQ6_K, quantQ4_K, quantQ5_K, quantQ6_K } from './quants/k-quants.js';
import {
  dequantQ4_0,
  dequantQ4_1,
  dequantQ5_0,
  dequantQ5_1,
  dequantQ8_0,
  quantQ4_0,
  quantQ4_1,
  quantQ5_0,
  quantQ5_1,
  quantQ8_0,
} from './quants/legacy.js';
import { BLOCK_LAYOUT, GgmlType, GgufError, ggmlTypeName } from './types.js';

export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './quants/float.js';

import { F16_TABLE, f32ToBf16, f32ToF16 } from './quants/float.js';

/** (src, dst, number of blocks): src holds whole blocks from its first byte. */
type BlockDecoder = (src: Uint8Array, dst: Float32Array, nb: number) => void;
/** (src, dst, number of blocks): dst receives whole blocks from its first byte. */
type BlockEncoder = (src: Float32Array, dst: Uint8Array, nb: number) => void;

interface Codec {
  decode: BlockDecoder;
  encode: BlockEncoder;
}

const CODECS: Partial<Record<GgmlType, Codec>> = {
  [GgmlType.F32]: { decode: decodeF32, encode: encodeF32 },
  [GgmlType.F16]: { decode: decodeF16, encode: encodeF16 },
  [GgmlType.BF16]: { decode: decodeBf16, encode: encodeBf16 },
  [GgmlType.Q4_0]: { decode: dequantQ4_0, encode: quantQ4_0 },
  [GgmlType.Q4_1]: { decode: dequantQ4_1, encode: quantQ4_1 },
  [GgmlType.Q5_0]: { decode: dequantQ5_0, encode: quantQ5_0 },
  [GgmlType.Q5_1]: { decode: dequantQ5_1, encode: quantQ5_1 },
  [GgmlType.Q8_0]: { decode: dequantQ8_0, encode: quantQ8_0 },
  [GgmlType.Q4_K]: { decode: dequantQ4_K, encode: quantQ4_K },
  [GgmlType.Q5_K]: { decode: dequantQ5_K, encode: quantQ5_K },
  [GgmlType.Q6_K]: { decode: dequantQ6_K, encode: quantQ6_K },
};

type FullCodec = Codec & { elements: number; bytes: number };

// Joined with BLOCK_LAYOUT once, so that per-row calls on the compute path allocate nothing.
const FULL_CODECS = new Map<GgmlType, FullCodec>();
for (const [type, codec] of Object.entries(CODECS)) {
  const layout = BLOCK_LAYOUT[Number(type) as GgmlType]!;
  FULL_CODECS.set(Number(type) as GgmlType, { ...codec, ...layout });
}

/** The tensor types kvsieve can read and write, by name (for messages). */
export function supportedTensorTypes(): string[] {
  return [...FULL_CODECS.keys()].map(ggmlTypeName);
}

/** Whether tensors of `type` can be dequantized (and so loaded). */
export function isSupportedTensorType(type: GgmlType): boolean {
  return FULL_CODECS.has(type);
}

/** The codec and block layout for `type`; an unsupported type is bad input, named with what is supported. */
function codecFor(type: GgmlType): FullCodec {
  const c = FULL_CODECS.get(type);
  if (!c) {
    throw new GgufError(
      `tensor type ${ggmlTypeName(type)} is not supported (supported: ${supportedTensorTypes().join(', ')})`,
    );
  }
  return c;
}

/** Number of blocks in n elements; throws unless n is a whole number of blocks. */
function blocksOf(type: GgmlType, n: number, elements: number): number {
  if (!Number.isInteger(n) || n < 0 || n % elements !== 0) {
    throw new Error(`${n} elements is not a whole number of ${ggmlTypeName(type)} blocks (${elements} each)`);
  }
  return n / elements;
}

/** Dequantizes n elements (a whole number of blocks) from src (starting at the row's first block) into dst[0..n). */
export function dequantizeRow(type: GgmlType, src: Uint8Array, dst: Float32Array, n: number): void {
  const c = codecFor(type);
  const nb = blocksOf(type, n, c.elements);
  if (src.length < nb * c.bytes) {
    throw new Error(
      `${ggmlTypeName(type)}: ${n} elements need ${nb * c.bytes} bytes, source has ${src.length}`,
    );
  }
  if (dst.length < n) throw new Error(`${ggmlTypeName(type)}: destination holds ${dst.length} < ${n} values`);
  c.decode(src, dst, nb);
}

export function dequantize(type: GgmlType, src: Uint8Array, n: number): Float32Array {
  const dst = new Float32Array(n);
  dequantizeRow(type, src, dst, n);
  return dst;
}

/** Reference quantizer (llama.cpp's quantize_row_*_ref semantics); src.length a multiple of the block size. */
export function quantize(type: GgmlType, src: Float32Array): Uint8Array {
  const c = codecFor(type);
  const nb = blocksOf(type, src.length, c.elements);
  const dst = new Uint8Array(nb * c.bytes);
  c.encode(src, dst, nb);
  return dst;
}

/** quantize() into an existing buffer (no allocation): dst receives whole blocks from its first byte. */
export function quantizeInto(type: GgmlType, src: Float32Array, dst: Uint8Array): void {
  const c = codecFor(type);
  const nb = blocksOf(type, src.length, c.elements);
  if (dst.length < nb * c.bytes) throw new Error(`${ggmlTypeName(type)}: destination too small`);
  c.encode(src, dst, nb);
}

// The float "codecs" treat every element as a block. Byte copies are used instead of typed views of src so that
// src may start at any byte offset; like ggml, they assume a little-endian host.

function decodeF32(src: Uint8Array, dst: Float32Array, n: number): void {
  new Uint8Array(dst.buffer, dst.byteOffset, n * 4).set(src.subarray(0, n * 4));
}

function encodeF32(src: Float32Array, dst: Uint8Array, n: number): void {
  dst.set(new Uint8Array(src.buffer, src.byteOffset, n * 4));
}

function decodeF16(src: Uint8Array, dst: Float32Array, n: number): void {
  if (src.byteOffset % 2 === 0) {
    // Aligned rows (the usual case) read whole halves, several times faster than assembling bytes.
    const h = new Uint16Array(src.buffer, src.byteOffset, n);
    for (let i = 0; i < n; i++) dst[i] = F16_TABLE[h[i]];
    return;
  }
  for (let i = 0; i < n; i++) dst[i] = F16_TABLE[src[2 * i] | (src[2 * i + 1] << 8)];
}

function encodeF16(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = f32ToF16(src[i]);
    dst[2 * i] = h & 0xff;
    dst[2 * i + 1] = h >> 8;
  }
}

function decodeBf16(src: Uint8Array, dst: Float32Array, n: number): void {
  // bf16 is the high half of an f32, so write the bits straight into dst.
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, n);
  for (let i = 0; i < n; i++) bits[i] = (src[2 * i] << 16) | (src[2 * i + 1] << 24);
}

function encodeBf16(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = f32ToBf16(src[i]);
    dst[2 * i] = h & 0xff;
    dst[2 * i + 1] = h >> 8;
  }
}
