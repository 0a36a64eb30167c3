// Every press by name, so the CLI, the server and the benchmarks build them the same way.
import { AdaKvPress, type HeadScorer } from './adakv.js';
import { DecodingPress } from './decoding.js';
import { ExpectedAttentionPress } from './expected-attention.js';
import { FullPress } from './full.js';
import { H2oPress } from './h2o.js';
import { KeyDiffPress } from './keydiff.js';
import { KnormPress } from './knorm.js';
import { KvzipPress } from './kvzip.js';
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
  keydiff: {
    describe: 'KeyDiff: keys least similar to the mean key, block-wise, attention-free (arXiv 2504.15364)',
    make: (s) => new KeyDiffPress({ ratio: s.ratio, budget: s.budget, blockSize: num(s.blockSize) }),
  },
  expected: {
    describe: 'Expected Attention: attention expected from future queries’ statistics (arXiv 2510.00636)',
    make: (s) => new ExpectedAttentionPress(expectedOptions(s)),
  },
  adakv: {
    describe:
      'AdaKV: a layer budget shared across KV heads by global top-k (inner: snapkv | pyramidkv | expected)',
    make: (s) => new AdaKvPress(innerOf(s), { safeguard: num(s.safeguard) }),
  },
  'adakv-expected': {
    describe:
      'AdaKV over Expected Attention with ε = 0.01 (kvpress’s evaluation registry "expected_attention")',
    make: (s) =>
      new AdaKvPress(new ExpectedAttentionPress({ ...expectedOptions(s), epsilon: num(s.epsilon) ?? 0.01 }), {
        safeguard: num(s.safeguard),
      }),
  },
  kvzip: {
    describe:
      'KVzip: what the model attends to when asked to repeat the prompt, ~2× prefill (arXiv 2505.23416)',
    make: (s) =>
      new KvzipPress({
        ratio: s.ratio,
        budget: s.budget,
        nSink: num(s.nSink),
        chunkSize: num(s.chunkSize),
        layerwise: flag(s, 'layerwise'),
      }),
  },
  decoding: {
    describe:
      'compress while generating: every `interval` (512) tokens the inner press (knorm) keeps the budget',
    make: (s) =>
      new DecodingPress(decodingInner(s), { interval: num(s.interval), prefill: flag(s, 'prefill') }),
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
  if (inner === 'expected') return new ExpectedAttentionPress(expectedOptions(s));
  throw new RangeError(`adakv: inner must be snapkv, pyramidkv or expected, got ${String(inner)}`);
}

function flag(s: PressSpec, key: string): boolean | undefined {
  const v = s[key];
  if (v === undefined || typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new RangeError(`${s.name}: ${key} must be true or false, got ${String(v)}`);
}

/** The decoding wrapper's inner press, built from the same spec: any press that scores tokens per KV head. */
function decodingInner(s: PressSpec): HeadScorer | AdaKvPress {
  const name = String(s.inner ?? 'knorm');
  const inner =
    name === 'decoding'
      ? undefined
      : pressFromSpec({ ...s, name, inner: undefined, interval: undefined, prefill: undefined });
  if (inner instanceof AdaKvPress || (inner !== undefined && isHeadScorer(inner))) return inner;
  throw new RangeError(
    `decoding: inner must be a press that scores tokens (${scoringPresses().join(', ')}), got ${name}`,
  );
}

function isHeadScorer(p: Press): p is HeadScorer {
  return 'headScores' in p && 'layerTarget' in p;
}

/** Names of the presses the decoding wrapper can drive. */
function scoringPresses(): string[] {
  return pressNames().filter((n) => {
    if (n === 'decoding') return false;
    const p = PRESSES[n].make({ name: n, ratio: 2 });
    return p instanceof AdaKvPress || isHeadScorer(p);
  });
}

function expectedOptions(s: PressSpec) {
  return {
    ratio: s.ratio,
    budget: s.budget,
    nFuture: num(s.nFuture),
    nSink: num(s.nSink),
    epsilon: num(s.epsilon),
    useCovariance: flag(s, 'useCovariance'),
    useVnorm: flag(s, 'useVnorm'),
  };
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
  const p = PRESSES[spec.name];
  if (!p) throw new RangeError(`unknown press "${spec.name}" (known: ${pressNames().join(', ')})`);
  for (const key of ['ratio', 'budget'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'number')
      throw new RangeError(`${spec.name}: ${key} must be a number`);
  }
  return p.make(spec);
}
