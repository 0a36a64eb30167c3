// kept.json: for the one sample the report shows token by token, which context tokens each (layer, KV head)
// kept after the context's compression, under every press of the run. Bitmasks (bit i = original position i,
// least significant bit first, base64) keep it small enough to inline in the HTML report; the token texts come
// once. Written whole (temp file + rename) after each press, so it is never half a file.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Context } from '../../generate/context.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { SampleSpec } from './grid.js';
import type { Mode } from './spec.js';

export interface KeptRun {
  press: string;
  ratio: number;
  mode: Mode;
  matchKept?: boolean;
  keptFraction: number;
  /** `[layer][kvHead]` base64 bitmask over the context's positions. */
  masks: string[][];
}

export interface KeptView {
  modelId: string;
  sample: SampleSpec & { promptHash: string };
  nLayers: number;
  nKvHeads: number;
  /** The context's tokens as text (BOS etc. as ''), in order. */
  tokens: string[];
  runs: Record<string, KeptRun>;
}

export function runLabel(r: { press: string; ratio: number; mode: Mode; matchKept?: boolean }): string {
  return `${r.press}|${r.ratio}|${r.mode}${r.matchKept ? '|kept' : ''}`;
}

/** The kept positions below `n` of every (layer, KV head) in `ctx`'s cache, as bitmasks. */
export function keptMasks(ctx: Context, n: number): string[][] {
  const { nLayers, nKvHeads } = ctx.model.config;
  return Array.from({ length: nLayers }, (_, l) =>
    Array.from({ length: nKvHeads }, (_, h) => {
      const bits = Buffer.alloc(Math.ceil(n / 8));
      for (const p of ctx.cache.positions(l, h)) if (p < n) bits[p >> 3] |= 1 << (p & 7);
      return bits.toString('base64');
    }),
  );
}

/** Each token's text as the model would print it (multi-byte characters land on the token that completes them). */
export function tokenTexts(tok: Tokenizer, ids: readonly number[]): string[] {
  const dec = tok.createStreamDecoder({ skipSpecial: true });
  return ids.map((id) => dec.push(id));
}

/** Reads `path` if it holds this sample for this model, else undefined (a new run starts a new view). */
export function loadKept(path: string, modelId: string, promptHash: string): KeptView | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as KeptView;
    return v.modelId === modelId && v.sample?.promptHash === promptHash ? v : undefined;
  } catch {
    return undefined;
  }
}

export function saveKept(path: string, view: KeptView): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(view));
  renameSync(`${path}.tmp`, path);
}
