// results.jsonl: one line per finished sample, appended with a single write each, so a run stopped at any point
// (Ctrl-C between samples, or a kill mid-write) leaves every complete line valid. A torn last line is dropped
// when the file is opened again; the keys of the lines that remain are the samples a rerun skips.

import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import type { KvTypeName } from '../../cache/cache-type.js';
import type { TaskFamily } from '../tasks/index.js';
import type { Mode } from './spec.js';

export interface SampleRecord {
  key: string;
  /** Model identity (see model-id.ts) and the file's name, for the report. */
  modelId: string;
  modelName: string;
  task: string;
  family: TaskFamily;
  /** The press with its options (`lagkv:lag=64`). */
  press: string;
  /** The grid's ratio: the press's own, or with matchKept the target kept fraction 1/ratio. */
  ratio: number;
  mode: Mode;
  /** Equal-budget run (--match-kept); absent in nominal runs. */
  matchKept?: boolean;
  /** How the cache stored keys and values (absent in results from before cache types: f32). */
  cacheType?: KvTypeName;
  /** The ratio the press ran at (with matchKept, the calibrated one); absent for the full cache. */
  pressRatio?: number;
  /** Requested length in tokens (the task's own meaning: BABILong counts the context only). */
  length: number;
  /** Requested needle depth, null when the task placed it. */
  depth: number | null;
  /** Where the needle really sits (0..1), for needle tasks. */
  needleDepth: number | null;
  sample: number;
  seed: number;
  /** sha256 of the prompt text (first 16 hex digits): the same prompt across presses, runs and machines. */
  promptHash: string;
  promptTokens: number;
  contextTokens: number;
  /** The model's answer and the references it was scored against. */
  answer: string;
  expected: string[];
  score: number;
  /** Kept (layer, head, token) slots over those seen, after the context's compression. */
  keptFraction: number;
  /** KV-cache bytes right after the context's compression. */
  kvBytes: number;
  /** Most bytes the cache held at any moment (a prefill chunk is appended before it is compressed). */
  peakKvBytes: number;
  prefillMs: number;
  decodeMs: number;
  generatedTokens: number;
  /** Kept fraction with 0, 1, 2... generated tokens in the cache (absent from results written before it). */
  keptTrace?: number[];
}

export class ResultStore {
  readonly records: SampleRecord[] = [];
  private readonly keys = new Set<string>();

  constructor(readonly path: string) {
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
    const lines = text.slice(0, end).split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let rec: SampleRecord;
      try {
        rec = JSON.parse(line) as SampleRecord;
      } catch {
        throw new RangeError(`${path}:${i + 1}: not a JSON line (move the file away to start over)`);
      }
      if (typeof rec.key !== 'string') throw new RangeError(`${path}:${i + 1}: a line without a key`);
      this.add(rec);
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  append(rec: SampleRecord): void {
    appendFileSync(this.path, `${JSON.stringify(rec)}\n`);
    this.add(rec);
  }

  private add(rec: SampleRecord): void {
    if (this.keys.has(rec.key)) return;
    this.keys.add(rec.key);
    this.records.push(rec);
  }
}
