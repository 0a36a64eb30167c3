// Writes GGUF models with seeded random weights in real architectures' shapes. Tests use them to check the
// kernels and the forward pass against each other and against llama.cpp; benchmarks use them at the shapes
// of real models (SmolLM2-135M, Qwen2.5-0.5B), since no weights can be downloaded here.

import { Rng } from '../generate/sampler.js';
import { quantize } from '../gguf/quants.js';
import { BLOCK_LAYOUT, GgmlType } from '../gguf/types.js';
import { type GgufTensorData, writeGguf } from '../gguf/writer.js';
import type { Architecture } from './config.js';
import { modelKv, spmVocabKv } from './metadata.js';

export interface SyntheticModelSpec {
  arch: Architecture;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Defaults to dim / nHeads. */
  headDim?: number;
  ffnDim: number;
  vocabSize: number;
  contextLength: number;
  /** Storage type of the 2-D weights (norms stay F32). A mix like Q4_K_M is given as `mixed`. */
  type: GgmlType;
  /** Per-tensor overrides, e.g. Q4_K_M puts Q6_K on attn_v / ffn_down / output. Keyed by tensor-name suffix. */
  mixed?: Record<string, GgmlType>;
  tiedOutput: boolean;
  ropeBase?: number;
  seed: number;
  /**
   * 'random' (default): every weight drawn. 'pooled': each matrix's rows are picked from a pool of 64 random
   * rows, made while the file is written, so 7–8B shapes are written in minutes with bounded memory.
   * 'zeros': matrices left as holes in a sparse file, for tests of files too large to load.
   */
  weights?: 'random' | 'pooled' | 'zeros';
}

/** Rows in the pool a 'pooled' matrix draws from. */
const POOL_ROWS = 64;

/** A SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte tokens, then made-up pieces. */
export function syntheticVocab(size: number): { tokens: string[]; scores: number[]; types: number[] } {
  if (size < 260) throw new RangeError(`a synthetic vocabulary needs at least 260 tokens, got ${size}`);
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; tokens.length < size; i++) {
    // Single letters first (so ordinary text tokenises without bytes), then two- and three-letter pieces.
    let piece = '';
    let n = i;
    do {
      piece += letters[n % 26];
      n = Math.floor(n / 26);
    } while (n > 0);
    tokens.push(i % 2 === 0 ? `\u2581${piece}` : piece);
    types.push(1);
  }
  return { tokens, scores: tokens.map((_, i) => -i), types };
}

// Small embeddings keep the residual stream from being dominated by the current token (which makes random
// models repeat it forever); a larger output head makes logits peaked enough that greedy decoding is stable
// under float reordering. Measured on 2-layer models: 35+ distinct tokens in 64 greedy steps (untied head).
const EMBED_STD = 0.1;
const OUTPUT_STD = 0.5;

const K_FALLBACK: Partial<Record<GgmlType, GgmlType>> = {
  [GgmlType.Q4_K]: GgmlType.Q5_0,
  [GgmlType.Q5_K]: GgmlType.Q5_1,
  [GgmlType.Q6_K]: GgmlType.Q8_0,
};

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

export function writeSyntheticModel(path: string, s: SyntheticModelSpec): void {
  const rng = new Rng(s.seed);
  const headDim = s.headDim ?? s.dim / s.nHeads;
  const qDim = s.nHeads * headDim;
  const kvDim = s.nKvHeads * headDim;
  const tensors: GgufTensorData[] = [];
  const typeFor = (name: string, cols: number): GgmlType => {
    const override = Object.entries(s.mixed ?? {}).find(([suffix]) => name.endsWith(suffix));
    const t = override ? override[1] : s.type;
    const block = BLOCK_LAYOUT[t]?.elements ?? 1;
    if (cols % block === 0) return t;
    // Rows that are not whole blocks fall back the way llama.cpp's quantizer does.
    const fallback = K_FALLBACK[t];
    return fallback !== undefined && cols % 32 === 0 ? fallback : GgmlType.F32;
  };
  const random = (n: number, std: number) => {
    const v = new Float32Array(n);
    for (let i = 0; i < v.length; i++) v[i] = gaussian(rng) * std;
    return v;
  };
  const matrix = (name: string, rows: number, cols: number, std: number) => {
    const type = typeFor(name, cols);
    const dims = [cols, rows];
    if (s.weights === 'zeros') tensors.push({ name, dims, type, data: 'zeros' });
    else if (s.weights === 'pooled')
      tensors.push({ name, dims, type, data: () => pooled(type, rows, cols, std) });
    else tensors.push({ name, dims, type, data: quantize(type, random(rows * cols, std)) });
  };
  const pooled = (type: GgmlType, rows: number, cols: number, std: number) => {
    const pool = quantize(type, random(POOL_ROWS * cols, std));
    const rowBytes = pool.length / POOL_ROWS;
    const out = new Uint8Array(rows * rowBytes);
    for (let r = 0; r < rows; r++) {
      const p = Math.floor(rng.next() * POOL_ROWS) * rowBytes;
      out.set(pool.subarray(p, p + rowBytes), r * rowBytes);
    }
    return out;
  };
  const vector = (name: string, n: number, mean: number, std: number) => {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = mean + gaussian(rng) * std;
    tensors.push({ name, dims: [n], type: GgmlType.F32, data: new Uint8Array(v.buffer) });
  };
  matrix('token_embd.weight', s.vocabSize, s.dim, EMBED_STD);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `blk.${l}.`;
    vector(`${p}attn_norm.weight`, s.dim, 1, 0.1);
    matrix(`${p}attn_q.weight`, qDim, s.dim, 1 / Math.sqrt(s.dim));
    matrix(`${p}attn_k.weight`, kvDim, s.dim, 1 / Math.sqrt(s.dim));
    matrix(`${p}attn_v.weight`, kvDim, s.dim, 1 / Math.sqrt(s.dim));
    if (s.arch === 'qwen2') {
      vector(`${p}attn_q.bias`, qDim, 0, 0.1);
      vector(`${p}attn_k.bias`, kvDim, 0, 0.1);
      vector(`${p}attn_v.bias`, kvDim, 0, 0.1);
    }
    if (s.arch === 'qwen3') {
      vector(`${p}attn_q_norm.weight`, headDim, 1, 0.1);
      vector(`${p}attn_k_norm.weight`, headDim, 1, 0.1);
    }
    matrix(`${p}attn_output.weight`, s.dim, qDim, 1 / Math.sqrt(qDim));
    vector(`${p}ffn_norm.weight`, s.dim, 1, 0.1);
    matrix(`${p}ffn_gate.weight`, s.ffnDim, s.dim, 1 / Math.sqrt(s.dim));
    matrix(`${p}ffn_up.weight`, s.ffnDim, s.dim, 1 / Math.sqrt(s.dim));
    matrix(`${p}ffn_down.weight`, s.dim, s.ffnDim, 1 / Math.sqrt(s.ffnDim));
  }
  vector('output_norm.weight', s.dim, 1, 0.1);
  if (!s.tiedOutput) matrix('output.weight', s.vocabSize, s.dim, OUTPUT_STD);

  const kv = [
    ...modelKv({ ...s, name: `synthetic-${s.arch}`, headDim, normEps: 1e-6, ropeBase: s.ropeBase ?? 10000 }),
    ...spmVocabKv(syntheticVocab(s.vocabSize)),
  ];
  writeGguf(path, { kv, tensors });
}
