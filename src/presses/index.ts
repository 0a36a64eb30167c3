// Every press by name, so the CLI, the server and the benchmarks build them the same way.
import { AdaKvPress, type HeadScorer } from './adakv.js';
import { FullPress } from './full.js';
import { H2oPress } from './h2o.js';
import { KnormPress } from './knorm.js';
import { L2KvPress } from './l2kv.js';
import { LagKvPress } from './lagkv.js';
import { type LaserKvOptions, LaserKvPress } from './laserkv.js';
import type { Press } from './press.js';
import { PyramidKvPress } from './pyramidkv.js';
import { RandomPress } from './random.js';
import { SnapKvPress } from './snapkv.js';
import { StreamingLlmPress } from './streaming-llm.js';
import { TovaPress } from './tova.js';

export type { KeepSets, LayerState, Press, StepInfo } from './press.js';

export interface PressSpec {
  name: string;
  ratio?: number;
  budget?: number;
  /** Press-specific options (sink, lag, seed, ...). */
  [option: string]: unknown;
}

type Factory = (spec: PressSpec) => Press;

const num = (v: unknown) => (v === undefined ? undefined : Number(v));

const PRESSES: Record<string, { describe: string; make: Factory }> = {
  full: { describe: 'no compression (the reference)', make: () => new FullPress() },
  lagkv: {
    describe: 'LagKV: lag-relative min-max spread of keys and values, recursive (arXiv 2504.04704)',
    make: (s) =>
      new LagKvPress({
        ratio: ratioOf(s),
        sink: num(s.sink),
        lag: num(s.lag),
        mode: s.mode as 'recursive' | 'oneshot' | undefined,
        useThenCompress: s.useThenCompress as boolean | undefined,
        skipLayers: s.skipLayers as number[] | undefined,
      }),
  },
  l2kv: {
    describe: 'L2KV: LagKV partitions scored by low key norm (LagKV repository)',
    make: (s) =>
      new L2KvPress({
        ratio: ratioOf(s),
        sink: num(s.sink),
        lag: num(s.lag),
        skipLayers: s.skipLayers as number[] | undefined,
      }),
  },
  streaming: {
    describe: 'StreamingLLM: attention sinks + most recent tokens',
    make: (s) => new StreamingLlmPress({ ratio: s.ratio, budget: s.budget, sink: num(s.sink) }),
  },
  knorm: {
    describe: 'K-norm: keep the keys with the lowest L2 norm',
    make: (s) => new KnormPress({ ratio: s.ratio, budget: s.budget, sink: num(s.sink) }),
  },
  random: {
    describe: 'random eviction (seeded)',
    make: (s) => new RandomPress({ ratio: s.ratio, budget: s.budget, sink: num(s.sink), seed: num(s.seed) }),
  },
  h2o: {
    describe: 'H2O: heavy hitters by accumulated attention + recent tokens (arXiv 2306.14048)',
    make: (s) => new H2oPress({ ratio: s.ratio, budget: s.budget }),
  },
  snapkv: {
    describe: 'SnapKV: observation-window (or question) attention votes, max-pooled (arXiv 2404.14469)',
    make: (s) => new SnapKvPress(snapOptions(s)),
  },
  pyramidkv: {
    describe: 'PyramidKV: SnapKV with budgets decreasing linearly over layers (arXiv 2406.02069)',
    make: (s) => new PyramidKvPress({ ...snapOptions(s), beta: num(s.beta) }),
  },
  tova: {
    describe: 'TOVA: evict what the newest query attends to least, heads averaged (arXiv 2401.06104)',
    make: (s) => new TovaPress({ ratio: s.ratio, budget: s.budget }),
  },
  adakv: {
    describe: 'AdaKV: a layer budget shared across KV heads by global top-k (inner: snapkv | pyramidkv)',
    make: (s) => new AdaKvPress(innerOf(s), { safeguard: num(s.safeguard) }),
  },
  laserkv: {
    describe: 'LASER-KV: query-aware block-wise exact + LSH selection, append-only (arXiv 2602.02199)',
    make: (s) =>
      new LaserKvPress({
        ratio: ratioOf(s),
        blockSize: num(s.blockSize),
        divisor: num(s.divisor),
        split: num(s.split),
        lshBits: num(s.lshBits),
        lshTables: num(s.lshTables),
        seed: num(s.seed),
        mode: s.mode as LaserKvOptions['mode'],
        ablation: s.ablation as LaserKvOptions['ablation'],
      }),
  },
};

function snapOptions(s: PressSpec) {
  return { ratio: s.ratio, budget: s.budget, window: num(s.window), kernel: num(s.kernel) };
}

/** AdaKV's inner scoring press: SnapKV by default, or PyramidKV (the presses that score per KV head). */
function innerOf(s: PressSpec): HeadScorer {
  const inner = s.inner ?? 'snapkv';
  if (inner === 'snapkv') return new SnapKvPress(snapOptions(s));
  if (inner === 'pyramidkv') return new PyramidKvPress({ ...snapOptions(s), beta: num(s.beta) });
  throw new RangeError(`adakv: inner must be snapkv or pyramidkv, got ${String(inner)}`);
}

function ratioOf(s: PressSpec): number {
  if (s.budget !== undefined) throw new RangeError(`${s.name} takes a ratio, not an absolute budget`);
  if (s.ratio === undefined) throw new RangeError(`${s.name} needs a ratio`);
  return s.ratio;
}

export function pressNames(): string[] {
  return Object.keys(PRESSES);
}

export function describePresses(): { name: string; describe: string }[] {
  return Object.entries(PRESSES).map(([name, p]) => ({ name, describe: p.describe }));
}

/** Builds a press from its name and options; unknown names and bad options are RangeErrors naming them. */
export function pressFromSpec(spec: PressSpec): Press {
  const p = Object.hasOwn(PRESSES, spec.name) ? PRESSES[spec.name] : undefined; // never Object.prototype's
  if (!p) throw new RangeError(`unknown press "${spec.name}" (known: ${pressNames().join(', ')})`);
  for (const key of ['ratio', 'budget'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'number')
      throw new RangeError(`${spec.name}: ${key} must be a number`);
  }
  return p.make(spec);
}
