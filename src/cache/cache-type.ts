// Storage types of the KV cache, as llama.cpp's `--cache-type-k/-v`: f32, f16 (the default, as there), and
// ggml's q8_0 / q4_0 blocks (32 values, one f16 scale each). Keys and values each have their own type.
import { BLOCK_LAYOUT, GgmlType } from '../gguf/types.js';

export const KV_TYPE_NAMES = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
export type KvTypeName = (typeof KV_TYPE_NAMES)[number];

/** Per-tensor storage of a KV cache. */
export interface CacheType {
  k: KvTypeName;
  v: KvTypeName;
}

export const DEFAULT_CACHE_TYPE: Readonly<CacheType> = { k: 'f16', v: 'f16' };

export const KV_GGML_TYPE: Readonly<Record<KvTypeName, GgmlType>> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

/** A cache type that cannot be used (unknown name, or a head size that is not whole blocks). */
export class CacheTypeError extends RangeError {
  override name = 'CacheTypeError';
}

export function isKvTypeName(s: unknown): s is KvTypeName {
  return typeof s === 'string' && (KV_TYPE_NAMES as readonly string[]).includes(s);
}

/** Checks a cache type against a model's head size; `option` names each part in messages. */
export function checkCacheType(
  t: { k?: unknown; v?: unknown },
  headDim: number,
  option = (part: 'k' | 'v') => `cacheType.${part}`,
): CacheType {
  const out = { ...DEFAULT_CACHE_TYPE };
  for (const part of ['k', 'v'] as const) {
    const name = t[part];
    if (name === undefined) continue;
    if (!isKvTypeName(name)) {
      throw new CacheTypeError(
        `${option(part)}: unknown cache type ${JSON.stringify(name)} (one of ${KV_TYPE_NAMES.join(', ')})`,
      );
    }
    const block = BLOCK_LAYOUT[KV_GGML_TYPE[name]]?.elements ?? 1;
    if (headDim % block !== 0) {
      throw new CacheTypeError(
        `${option(part)}: ${name} stores blocks of ${block} values, but this model's head size is ${headDim}`,
      );
    }
    out[part] = name;
  }
  return out;
}

/** Bytes of one stored row of `headDim` values. */
export function kvRowBytes(name: KvTypeName, headDim: number): number {
  const layout = BLOCK_LAYOUT[KV_GGML_TYPE[name]];
  if (!layout) throw new Error(`no block layout for ${name}`);
  return (headDim / layout.elements) * layout.bytes;
}
