// Real model shapes for benchmarks, written once with random weights (no weights can be downloaded here).
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { openGguf } from '../src/gguf/reader.js';
import { GgmlType } from '../src/gguf/types.js';
import { type SyntheticModelSpec, writeSyntheticModel } from '../src/model/synthetic.js';

export const BENCH_DIR = process.env.KVSIEVE_BENCH_DIR ?? join(process.cwd(), '.bench-out');

const SHAPES = {
  // HuggingFaceTB/SmolLM2-135M config.json
  'smollm2-135m': {
    arch: 'llama',
    dim: 576,
    nLayers: 30,
    nHeads: 9,
    nKvHeads: 3,
    ffnDim: 1536,
    vocabSize: 49152,
    contextLength: 8192,
    tiedOutput: true,
    ropeBase: 100000,
  },
  // Qwen/Qwen2.5-0.5B config.json
  'qwen2.5-0.5b': {
    arch: 'qwen2',
    dim: 896,
    nLayers: 24,
    nHeads: 14,
    nKvHeads: 2,
    ffnDim: 4864,
    vocabSize: 151936,
    contextLength: 32768,
    tiedOutput: true,
    ropeBase: 1000000,
  },
  // meta-llama/Llama-3.1-8B-Instruct config.json (4.9 GB at Q4_K_M: past one wasm32 memory)
  'llama3.1-8b': {
    arch: 'llama',
    dim: 4096,
    nLayers: 32,
    nHeads: 32,
    nKvHeads: 8,
    ffnDim: 14336,
    vocabSize: 128256,
    contextLength: 131072,
    tiedOutput: false,
    ropeBase: 500000,
    weights: 'pooled',
  },
  // Qwen/Qwen2.5-7B-Instruct config.json
  'qwen2.5-7b': {
    arch: 'qwen2',
    dim: 3584,
    nLayers: 28,
    nHeads: 28,
    nKvHeads: 4,
    ffnDim: 18944,
    vocabSize: 152064,
    contextLength: 32768,
    tiedOutput: false,
    ropeBase: 1000000,
    weights: 'pooled',
  },
} satisfies Record<string, Omit<SyntheticModelSpec, 'type' | 'seed'>>;

export type ShapeName = keyof typeof SHAPES;
export const SHAPE_NAMES = Object.keys(SHAPES) as ShapeName[];

// llama.cpp's Q4_K_M: Q4_K everywhere, Q6_K for attn_v, ffn_down and the output head; rows that are not
// whole 256-blocks fall back (Q4_K → Q5_0, Q6_K → Q8_0), as llama.cpp's quantizer does.
const QUANTS = {
  Q8_0: { type: GgmlType.Q8_0 },
  Q4_K_M: {
    type: GgmlType.Q4_K,
    mixed: {
      'attn_v.weight': GgmlType.Q6_K,
      'ffn_down.weight': GgmlType.Q6_K,
      'output.weight': GgmlType.Q6_K,
    },
  },
} as const;
export type QuantName = keyof typeof QUANTS;
export const QUANT_NAMES = Object.keys(QUANTS) as QuantName[];

/** Path of the random-weight GGUF for a shape and quantisation, writing it first if needed. */
export function benchModel(shape: ShapeName, quant: QuantName): string {
  mkdirSync(BENCH_DIR, { recursive: true });
  const path = join(BENCH_DIR, `${shape}-${quant}.gguf`);
  if (!existsSync(path)) {
    const q = QUANTS[quant];
    process.stderr.write(`writing ${path} ...\n`);
    writeSyntheticModel(`${path}.tmp`, { ...SHAPES[shape], ...q, seed: 1 });
    renameSync(`${path}.tmp`, path);
  }
  return path;
}

/** A prompt of `n` ordinary (non-special) token ids spread over the vocabulary: the same for every engine. */
export function benchPrompt(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => 300 + ((i * 7919) % (vocab - 300)));
}

/** The vocabulary size a GGUF file declares (for engines that do not expose it). */
export function fileVocabSize(path: string): number {
  const f = openGguf(path);
  try {
    return (f.metadata.get('tokenizer.ggml.tokens') as string[]).length;
  } finally {
    f.close();
  }
}

/** The small random-weight model the server benchmarks run on (load.ts, hostile-cost.ts): 1024-token context. */
export function serverBenchModel(dir: string): string {
  const path = join(dir, 'server-bench.gguf');
  writeSyntheticModel(path, {
    arch: 'qwen2',
    dim: 128,
    nLayers: 4,
    nHeads: 4,
    nKvHeads: 2,
    ffnDim: 384,
    vocabSize: 512,
    contextLength: 1024,
    type: GgmlType.Q8_0,
    tiedOutput: false,
    seed: 7,
  });
  return path;
}
