// Every press by name, so the CLI, the server and the benchmarks build them the same way.
import { FullPress } from './full.js';
import { KnormPress } from './knorm.js';
import { L2KvPress } from './l2kv.js';
import { LagKvPress } from './lagkv.js';
import type { Press } from './press.js';
import { RandomPress } from './random.js';
import { StreamingLlmPress } from './streaming-llm.js';

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
};

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
