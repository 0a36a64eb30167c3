// Loads a model's tensors from GGUF into the shared heap, checking every shape against the config. Matrices
// stay in their stored quantisation when the backend can multiply them as they are; otherwise they are
// re-quantised to Q8_0 (or F32 when rows are not a whole number of Q8_0 blocks). With `repack`, types whose
// kernels are slow are re-encoded exactly into faster ones (Q5_0 → Q8_0, gguf/repack.ts). Vectors become JS
// floats.

import { dequantize, quantize } from '../gguf/quants.js';
import type { GgufFile } from '../gguf/reader.js';
import { loadedBytes, q5_0ToQ8_0 } from '../gguf/repack.js';
import { BLOCK_LAYOUT, GgmlType, GgufError, type GgufTensorInfo, ggmlTypeName } from '../gguf/types.js';
import type { Backend, WeightMatrix } from '../kernels/backend.js';
import type { ModelConfig } from './config.js';
import type { Placement } from './placement.js';

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: WeightMatrix;
  wk: WeightMatrix;
  wv: WeightMatrix;
  wo: WeightMatrix;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  /** Qwen3's per-head RMSNorm weights, `[headDim]`. */
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  ffnNorm: Float32Array;
  wGate: WeightMatrix;
  wUp: WeightMatrix;
  wDown: WeightMatrix;
}

export interface ModelWeights {
  embedding: WeightMatrix;
  layers: LayerWeights[];
  outputNorm: Float32Array;
  output: WeightMatrix;
  /** Llama-3 style per-frequency divisors (`rope_freqs.weight`), `[ropeDim / 2]`. */
  ropeFreqs?: Float32Array;
  /** Heap bytes taken by the weights. */
  bytes: number;
}

export type LoadProgress = (loadedBytes: number, totalBytes: number) => void;

class Loader {
  bytes = 0;
  private done = 0;
  private readonly total: number;

  constructor(
    private readonly file: GgufFile,
    private readonly onProgress?: LoadProgress,
    private readonly repack = false,
  ) {
    this.total = file.tensors.reduce((s, t) => s + t.bytes, 0);
  }

  private info(name: string, dims: number[]): GgufTensorInfo {
    const t = this.file.tensor(name);
    if (!t) throw new GgufError(`missing tensor "${name}"`, this.file.path);
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      throw new GgufError(`tensor "${name}" has shape [${t.dims}], expected [${dims}]`, this.file.path);
    }
    return t;
  }

  private progress(t: GgufTensorInfo): void {
    this.done += t.bytes;
    this.onProgress?.(this.done, this.total);
  }

  has(name: string): boolean {
    return this.file.tensor(name) !== undefined;
  }

  vector(name: string, length: number): Float32Array {
    const t = this.info(name, [length]);
    const out = dequantize(t.type, this.file.readTensor(t), t.elements);
    this.progress(t);
    return out;
  }

  /** A `[rows][cols]` matrix (GGUF dims [cols, rows]), read into `backend`'s heap. */
  matrix(name: string, rows: number, cols: number, backend: Backend): WeightMatrix {
    const t = this.info(name, [cols, rows]);
    const heap = backend.heap;
    let type = t.type;
    let ptr: number;
    if (this.repack && type === GgmlType.Q5_0 && backend.supports(GgmlType.Q8_0)) {
      const stored = this.file.readTensor(t);
      const bytes = loadedBytes(t, true);
      ptr = heap.alloc(bytes);
      q5_0ToQ8_0(stored, heap.u8(ptr, bytes));
      type = GgmlType.Q8_0;
    } else if (backend.supports(type)) {
      ptr = heap.alloc(t.bytes);
      this.file.readTensor(t, heap.u8(ptr, t.bytes));
    } else {
      const values = dequantize(type, this.file.readTensor(t), t.elements);
      type = cols % 32 === 0 && backend.supports(GgmlType.Q8_0) ? GgmlType.Q8_0 : GgmlType.F32;
      const data = type === GgmlType.F32 ? new Uint8Array(values.buffer) : quantize(type, values);
      ptr = heap.alloc(data.length);
      heap.u8(ptr, data.length).set(data);
    }
    const layout = BLOCK_LAYOUT[type];
    if (!layout)
      throw new GgufError(`tensor "${name}" has unsupported type ${ggmlTypeName(type)}`, this.file.path);
    const rowBytes = (cols / layout.elements) * layout.bytes;
    this.bytes += rows * rowBytes;
    this.progress(t);
    return { type, rows, cols, ptr, rowBytes };
  }
}

/** Reads the weights into the shards' heaps as `placement` says (`backends[s]` is shard s). */
export function loadWeights(
  file: GgufFile,
  cfg: ModelConfig,
  backends: readonly Backend[],
  placement: Placement,
  onProgress?: LoadProgress,
  repack = false,
): ModelWeights {
  const L = new Loader(file, onProgress, repack);
  const { dim, nHeads, nKvHeads, headDim, ffnDim, vocabSize } = cfg;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const embedding = L.matrix('token_embd.weight', vocabSize, dim, backends[placement.embeddingShard]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.nLayers; i++) {
    const p = `blk.${i}.`;
    const b = backends[placement.layerShard[i]];
    const layer: LayerWeights = {
      attnNorm: L.vector(`${p}attn_norm.weight`, dim),
      wq: L.matrix(`${p}attn_q.weight`, qDim, dim, b),
      wk: L.matrix(`${p}attn_k.weight`, kvDim, dim, b),
      wv: L.matrix(`${p}attn_v.weight`, kvDim, dim, b),
      wo: L.matrix(`${p}attn_output.weight`, dim, qDim, b),
      ffnNorm: L.vector(`${p}ffn_norm.weight`, dim),
      wGate: L.matrix(`${p}ffn_gate.weight`, ffnDim, dim, b),
      wUp: L.matrix(`${p}ffn_up.weight`, ffnDim, dim, b),
      wDown: L.matrix(`${p}ffn_down.weight`, dim, ffnDim, b),
    };
    if (cfg.qkvBias) {
      layer.bq = L.vector(`${p}attn_q.bias`, qDim);
      layer.bk = L.vector(`${p}attn_k.bias`, kvDim);
      layer.bv = L.vector(`${p}attn_v.bias`, kvDim);
    }
    if (cfg.qkNorm) {
      layer.qNorm = L.vector(`${p}attn_q_norm.weight`, headDim);
      layer.kNorm = L.vector(`${p}attn_k_norm.weight`, headDim);
    }
    layers.push(layer);
  }
  const outputNorm = L.vector('output_norm.weight', dim);
  const output = cfg.tiedOutput
    ? embedding
    : L.matrix('output.weight', vocabSize, dim, backends[placement.outputShard]);
  const ropeFreqs = L.has('rope_freqs.weight') ? L.vector('rope_freqs.weight', cfg.ropeDim / 2) : undefined;
  return { embedding, layers, outputNorm, output, ropeFreqs, bytes: L.bytes };
}
