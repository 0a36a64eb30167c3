// Messages between the page (src/web/page.ts) and its engine worker (src/web/engine-worker.ts). The engine runs
// in a worker because the kernel pool blocks in Atomics.wait, which a page's main thread may not do.
import type { CacheType } from '../cache/cache-type.js';
import type { PressDescription, PressSpec } from '../presses/index.js';

export type ModelChoice = { kind: 'url'; url: string } | { kind: 'file'; file: Blob; name: string };

export type ToEngine =
  | { type: 'load'; model: ModelChoice; threads: number }
  | { type: 'passkey'; tokens: number; digits: number; seed: number }
  | {
      type: 'run';
      document: string;
      question: string;
      press: PressSpec | null;
      cacheType: CacheType;
      maxTokens: number;
    }
  | { type: 'stop' };

export interface ModelInfo {
  name: string;
  arch: string;
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  contextLength: number;
  backend: string;
  threads: number;
  weightBytes: number;
  presses: PressDescription[];
}

/** One run's numbers: prefill rate = prompt tokens / time to the first token, decode rate over the rest. */
export interface RunStats {
  promptTokens: number;
  documentTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  keptFraction: number;
  kvBytes: number;
  peakKvBytes: number;
  finishReason: string;
}

/** The per-head kept-token view (the server's GET /v1/kvsieve/cache/:id body). */
export interface CacheView {
  n_layers: number;
  n_kv_heads: number;
  tokens_seen: number;
  kv_bytes: number;
  kept_fraction: number;
  segments: { index: number; role: string; start: number; end: number; generated: boolean }[];
  layers: {
    layer: number;
    heads: { head: number; kept: number; by_segment: number[]; ranges: [number, number][] }[];
  }[];
}

export type FromEngine =
  | { type: 'progress'; phase: 'download' | 'load'; done: number; total: number | undefined }
  | { type: 'loaded'; info: ModelInfo }
  | { type: 'passkey'; document: string; question: string; answer: string }
  | { type: 'prefill'; done: number; total: number }
  | { type: 'token'; id: number; text: string }
  | { type: 'done'; stats: RunStats; view: CacheView; ids: number[] }
  | { type: 'error'; during: 'load' | 'run' | 'passkey'; message: string };
