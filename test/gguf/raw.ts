// Hand-assembled GGUF bytes, for files the writer refuses to produce (the reader's hostile-input tests).
import { GgmlType, GgufValueType } from '../../src/gguf/types.js';

export class Raw {
  private readonly parts: number[] = [];

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint): this {
    const b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0n; i < 8n; i++) this.parts.push(Number((b >> (8n * i)) & 0xffn));
    return this;
  }
  /** A GGUF string: u64 byte length, then the bytes (UTF-8 of s, or raw bytes). */
  str(s: string | Uint8Array): this {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u64(bytes.length);
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  header(nTensors: number | bigint, nKv: number | bigint, version = 3): this {
    return this.bytes([0x47, 0x47, 0x55, 0x46]).u32(version).u64(nTensors).u64(nKv); // "GGUF"
  }
  kvU32(key: string, v: number): this {
    return this.str(key).u32(GgufValueType.UINT32).u32(v);
  }
  kvStr(key: string, v: string): this {
    return this.str(key).u32(GgufValueType.STRING).str(v);
  }
  tensorInfo(
    name: string,
    dims: (number | bigint)[],
    type: GgmlType | number,
    offset: number | bigint,
  ): this {
    this.str(name).u32(dims.length);
    for (const d of dims) this.u64(d);
    return this.u32(type).u64(offset);
  }
  /** Zero bytes up to a multiple of `alignment`. */
  align(alignment = 32): this {
    while (this.parts.length % alignment) this.parts.push(0);
    return this;
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i] & 0xff);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.parts.push(0);
    return this;
  }
  truncateTo(n: number): this {
    this.parts.length = n;
    return this;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A valid file: one F32 tensor "w" of 8 elements at offset 0. */
export function validRaw(): Raw {
  return new Raw()
    .header(1, 1)
    .kvStr('general.architecture', 'llama')
    .tensorInfo('w', [8], GgmlType.F32, 0)
    .align()
    .zeros(32);
}
