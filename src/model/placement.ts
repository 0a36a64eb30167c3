// Where a model's tensors live. A wasm32 memory addresses at most 4 GiB, and a matrix product or an attention
// call needs its weights, activations and KV cache in the same memory, so a model past that size spreads its
// layers over several memories ("shards"): each layer's weights and its KV cache share one, and the hidden state
// is copied between shards at a layer boundary (dim floats per token, negligible next to the layer's work).
// wasm64 (memory64) would avoid the split, but the kernels are AssemblyScript, which does not target it, and
// V8 bounds-checks every memory64 access instead of relying on guard pages.
import type { GgufFile } from '../gguf/reader.js';
import { loadedBytes } from '../gguf/repack.js';
import type { GgufTensorInfo } from '../gguf/types.js';
import type { ModelConfig } from './config.js';

/** What one wasm32 memory may hold: 4 GiB less the kernels' reserved low MiB and room for activations. */
export const DEFAULT_SHARD_BYTES = 4 * 2 ** 30 - 256 * 2 ** 20;
/** Tokens of full f16 cache a shard leaves room for, per layer (capped by the model's context length). */
const PLANNED_CACHE_TOKENS = 32768;

export interface Placement {
  /** Shard of each layer: `[nLayers]`, non-decreasing. */
  layerShard: number[];
  /** Shard of the token embedding (read row by row in TypeScript: any shard will do). */
  embeddingShard: number;
  /** Shard of the output head (the embedding itself when they are tied). */
  outputShard: number;
  /** Weight bytes planned into each shard. */
  shardWeightBytes: number[];
}

/** Bytes of a full f16 cache of one layer over `tokens` tokens. */
export function kvBytesPerLayer(cfg: ModelConfig, tokens: number): number {
  return tokens * cfg.nKvHeads * cfg.headDim * 2 * 2;
}

/**
 * Greedy in layer order: a shard takes layers while their weights plus room for their planned KV cache fit
 * in `shardBytes`. Small models end up in one shard, as before.
 */
export function planPlacement(
  file: GgufFile,
  cfg: ModelConfig,
  shardBytes = DEFAULT_SHARD_BYTES,
  repack = false,
): Placement {
  const sized = (t: GgufTensorInfo | undefined) => (t ? loadedBytes(t, repack) : 0);
  const bytesOf = (name: string) => sized(file.tensor(name));
  const layerBytes = new Array<number>(cfg.nLayers).fill(0);
  for (const t of file.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) < cfg.nLayers) layerBytes[Number(m[1])] += sized(t);
  }
  const embedding = bytesOf('token_embd.weight');
  const output = cfg.tiedOutput ? embedding : bytesOf('output.weight');
  const kvRoom = kvBytesPerLayer(cfg, Math.min(cfg.contextLength, PLANNED_CACHE_TOKENS));

  const shardWeightBytes = [0];
  const used = [0];
  const put = (weights: number, room: number): number => {
    let s = used.length - 1;
    if (used[s] > 0 && used[s] + weights + room > shardBytes) {
      used.push(0);
      shardWeightBytes.push(0);
      s++;
    }
    used[s] += weights + room;
    shardWeightBytes[s] += weights;
    return s;
  };
  const embeddingShard = cfg.tiedOutput ? -1 : put(embedding, 0);
  const layerShard = layerBytes.map((b) => put(b, kvRoom));
  const outputShard = put(output, 0);
  return {
    layerShard,
    embeddingShard: cfg.tiedOutput ? outputShard : embeddingShard,
    outputShard,
    shardWeightBytes,
  };
}
