// What a finished request left in its KV cache, kept after the cache itself is freed: per layer and KV head,
// which positions were still held, and which part of the conversation each position came from. The web page
// draws it; `GET /v1/kvsieve/cache/:id` serves it.
import type { Context } from '../generate/context.js';
import type { Segment } from './prompt.js';

export interface CacheSnapshot {
  id: string;
  nLayers: number;
  nKvHeads: number;
  tokensSeen: number;
  promptTokens: number;
  kvBytes: number;
  keptTokens: number;
  /** `[layer][head]`: kept positions as half-open runs, flattened `[start0, end0, start1, end1, ...]`. */
  runs: Int32Array[][];
  /**
   * Computed on request only (then kept): mapping tokens to messages re-renders the conversation once per
   * message, which runs on a prompt worker.
   */
  segments: () => Promise<Segment[]>;
}

/** Kept tokens over all the slots a full cache would hold (1 = nothing evicted). */
export function keptFraction(
  s: Pick<CacheSnapshot, 'keptTokens' | 'tokensSeen' | 'nLayers' | 'nKvHeads'>,
): number {
  const full = s.tokensSeen * s.nLayers * s.nKvHeads;
  return full === 0 ? 1 : s.keptTokens / full;
}

function toRuns(positions: Int32Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    if (out.length > 0 && out[out.length - 1] === p) out[out.length - 1] = p + 1;
    else out.push(p, p + 1);
  }
  return Int32Array.from(out);
}

export function snapshotCache(
  ctx: Context,
  id: string,
  promptTokens: number,
  segmentsFor: (promptTokens: number, tokensSeen: number) => Promise<Segment[]>,
): CacheSnapshot {
  const { cache } = ctx;
  const { nLayers, nKvHeads } = cache.shape;
  // The heads' position lists are read in place (cache.read would also copy every key and value).
  const runs = Array.from({ length: nLayers }, (_, l) =>
    cache.views(l).map((_v, h) => toRuns(cache.positions(l, h))),
  );
  const tokensSeen = cache.tokensSeen;
  let segments: Promise<Segment[]> | undefined;
  return {
    id,
    nLayers,
    nKvHeads,
    tokensSeen,
    promptTokens,
    kvBytes: cache.bytes,
    keptTokens: cache.keptTokens,
    runs,
    segments: () => {
      segments ??= segmentsFor(promptTokens, tokensSeen);
      // A failure (a worker that died) is not kept: the next request tries again.
      segments.catch(() => {
        segments = undefined;
      });
      return segments;
    },
  };
}

/** The JSON the cache endpoint returns. */
export async function describeSnapshot(s: CacheSnapshot): Promise<unknown> {
  const segments = await s.segments();
  const countBySegment = (runs: Int32Array): number[] =>
    segments.map((seg) => {
      let n = 0;
      for (let i = 0; i < runs.length; i += 2) {
        n += Math.max(0, Math.min(runs[i + 1], seg.end) - Math.max(runs[i], seg.start));
      }
      return n;
    });
  return {
    object: 'kvsieve.cache',
    id: s.id,
    n_layers: s.nLayers,
    n_kv_heads: s.nKvHeads,
    tokens_seen: s.tokensSeen,
    prompt_tokens: s.promptTokens,
    kv_bytes: s.kvBytes,
    kept_tokens: s.keptTokens,
    kept_fraction: keptFraction(s),
    segments,
    layers: s.runs.map((heads, layer) => ({
      layer,
      heads: heads.map((runs, head) => {
        const ranges = Array.from({ length: runs.length / 2 }, (_, i) => [runs[2 * i], runs[2 * i + 1]]);
        return {
          head,
          kept: ranges.reduce((n, [start, end]) => n + end - start, 0),
          by_segment: countBySegment(runs),
          ranges,
        };
      }),
    })),
  };
}

/** The most recent snapshots, oldest dropped first, so memory stays bounded however long the server runs. */
export class SnapshotStore {
  private readonly items = new Map<string, CacheSnapshot>();

  constructor(private readonly limit: number) {}

  put(s: CacheSnapshot): void {
    this.items.set(s.id, s);
    for (const key of this.items.keys()) {
      if (this.items.size <= this.limit) break;
      this.items.delete(key);
    }
  }

  get(id: string): CacheSnapshot | undefined {
    return this.items.get(id);
  }
}
