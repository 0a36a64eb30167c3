// GGUF container types (ggml's gguf.h, format versions 2 and 3).
import { BadInputError } from '../errors.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Data alignment when general.alignment is absent (GGUF_DEFAULT_ALIGNMENT). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Our cap on general.alignment (ggml only requires a power of two); reader and writer agree on it. */
export const GGUF_MAX_ALIGNMENT = 1 << 16;
/** GGML_MAX_DIMS. */
export const GGML_MAX_DIMS = 4;
/** GGML_MAX_NAME (64) less the terminating NUL: gguf.cpp refuses longer tensor names. */
export const GGML_MAX_NAME_BYTES = 63;

/** Tensor element types, numbered as in ggml.h. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
}

/** Elements per block and bytes per block for each type we can store (ggml-common.h). */
export const BLOCK_LAYOUT: Readonly<Partial<Record<GgmlType, { elements: number; bytes: number }>>> = {
  [GgmlType.F32]: { elements: 1, bytes: 4 },
  [GgmlType.F16]: { elements: 1, bytes: 2 },
  [GgmlType.BF16]: { elements: 1, bytes: 2 },
  [GgmlType.F64]: { elements: 1, bytes: 8 },
  [GgmlType.I8]: { elements: 1, bytes: 1 },
  [GgmlType.I16]: { elements: 1, bytes: 2 },
  [GgmlType.I32]: { elements: 1, bytes: 4 },
  [GgmlType.I64]: { elements: 1, bytes: 8 },
  [GgmlType.Q4_0]: { elements: 32, bytes: 18 },
  [GgmlType.Q4_1]: { elements: 32, bytes: 20 },
  [GgmlType.Q5_0]: { elements: 32, bytes: 22 },
  [GgmlType.Q5_1]: { elements: 32, bytes: 24 },
  [GgmlType.Q8_0]: { elements: 32, bytes: 34 },
  [GgmlType.Q8_1]: { elements: 32, bytes: 36 },
  [GgmlType.Q2_K]: { elements: 256, bytes: 84 },
  [GgmlType.Q3_K]: { elements: 256, bytes: 110 },
  [GgmlType.Q4_K]: { elements: 256, bytes: 144 },
  [GgmlType.Q5_K]: { elements: 256, bytes: 176 },
  [GgmlType.Q6_K]: { elements: 256, bytes: 210 },
  [GgmlType.Q8_K]: { elements: 256, bytes: 292 },
};

export function ggmlTypeName(t: GgmlType | number): string {
  return GgmlType[t] ?? `unknown(${t})`;
}

/** Bytes taken by `elements` values of type `t`; throws if `elements` is not a whole number of blocks. */
export function tensorBytes(t: GgmlType, elements: number): number {
  const layout = BLOCK_LAYOUT[t];
  if (!layout) throw new Error(`unsupported tensor type ${ggmlTypeName(t)}`);
  if (elements % layout.elements !== 0) {
    throw new Error(
      `${elements} elements is not a multiple of the ${ggmlTypeName(t)} block size ${layout.elements}`,
    );
  }
  return (elements / layout.elements) * layout.bytes;
}

/** Metadata value types (gguf_type). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** 64-bit integers that exceed 2^53 stay bigint; everything else is a plain number. */
export type GgufScalar = number | bigint | boolean | string;
/**
 * Numeric metadata arrays as the reader returns them: one typed array per element type (64-bit integers as
 * BigInt64Array/BigUint64Array), so a vocabulary's scores take 4 bytes a token rather than a JS array slot.
 */
export type GgufNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;
export type GgufValue = GgufScalar | GgufScalar[] | GgufNumericArray;

export interface GgufKv {
  key: string;
  type: GgufValueType;
  /** Element type when `type` is ARRAY. */
  arrayType?: GgufValueType;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the contiguous (innermost) dimension. */
  dims: number[];
  type: GgmlType;
  /** Offset of the tensor's data relative to the start of the data section. */
  offset: number;
  /** Number of elements (product of dims). */
  elements: number;
  /** Size of the tensor's data in bytes. */
  bytes: number;
}

/** A malformed, hostile or unsupported GGUF file: bad input, never a bug (the CLI exits 2). */
export class GgufError extends BadInputError {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'GgufError';
  }
}
