// The small random-weight model most engine/press tests run on: 2 layers, GQA (4 query / 2 KV heads),
// head dim 16, synthetic byte vocabulary. Tests override only what they exercise.
import { GgmlType } from '../../src/gguf/types.js';
import { type SyntheticModelSpec, writeSyntheticModel } from '../../src/model/synthetic.js';

export const TINY_MODEL: SyntheticModelSpec = {
  arch: 'qwen2',
  dim: 64,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  ffnDim: 128,
  vocabSize: 300,
  contextLength: 2048,
  type: GgmlType.F32,
  tiedOutput: false,
  seed: 9,
};

/** Writes TINY_MODEL with `overrides` to `path` and returns the path. */
export function writeTinyModel(path: string, overrides: Partial<SyntheticModelSpec> = {}): string {
  writeSyntheticModel(path, { ...TINY_MODEL, ...overrides });
  return path;
}
