// Hostile-file tests start from a valid model and break one thing: a copy with its metadata and tensors edited.
import { join } from 'node:path';
import { openGguf } from '../../src/gguf/reader.js';
import type { GgufKv } from '../../src/gguf/types.js';
import { type GgufTensorData, writeGguf } from '../../src/gguf/writer.js';

export interface GgufEdit {
  kv?: (kv: GgufKv[]) => GgufKv[];
  tensors?: (t: GgufTensorData[]) => GgufTensorData[];
}

/** Writes `dir/name.gguf`: `base` with `edit` applied, and returns its path. */
export function ggufVariant(base: string, dir: string, name: string, edit: GgufEdit): string {
  const f = openGguf(base);
  let kv = [...f.kv];
  let tensors: GgufTensorData[] = f.tensors.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: f.readTensor(t),
  }));
  f.close();
  if (edit.kv) kv = edit.kv(kv);
  if (edit.tensors) tensors = edit.tensors(tensors);
  const path = join(dir, `${name}.gguf`);
  writeGguf(path, { kv, tensors });
  return path;
}
