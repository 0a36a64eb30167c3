// Every press by name, with the options it takes and their defaults, so the CLI, the server and the
// benchmarks build and validate them the same way. A spec is flat: `{ name, ratio | budget, ...options }`;
// on the command line it reads `lagkv:lag=64,sink=4` (see parsePressText).
//
// Adding a press: one entry in PRESSES, `name: { describe, make }` at least (sizing defaults to ratio or
// budget, options to none). Option values reach the factory already type-checked against `options`; range
// checks stay in the press's constructor, which throws RangeErrors naming the option.
import { AdaKvPress, type HeadScorer } from './adakv.js';
import { DecodingPress } from './decoding.js';
import { type ExpectedAttentionOptions, ExpectedAttentionPress } from './expected-attention.js';
import { FullPress } from './full.js';
import { H2oPress } from './h2o.js';
import { KeyDiffPress } from './keydiff.js';
import { KnormPress } from './knorm.js';
import { KvzipPress } from './kvzip.js';
import { L2KvPress } from './l2kv.js';
import { type LagKvOptions, LagKvPress } from './lagkv.js';
import { type LaserKvOptions, LaserKvPress } from './laserkv.js';
import type { Press } from './press.js';
import { type PyramidKvOptions, PyramidKvPress } from './pyramidkv.js';
import { RandomPress } from './random.js';
import { type SnapKvOptions, SnapKvPress } from './snapkv.js';
import { StreamingLlmPress } from './streaming-llm.js';
import { TovaPress } from './tova.js';

export type { KeepSets, LayerState, Press, StepInfo } from './press.js';

export interface PressSpec {
  name: string;
  ratio?: number;
  budget?: number;
  /** Press-specific options (sink, lag, seed, ...), as listed by `describePresses`. */
  [option: string]: unknown;
}

/** An option's kind: a number, a whole number, a list of whole numbers, a flag, or one of `values`. */
export type OptionType = 'number' | 'integer' | 'integers' | 'boolean' | 'choice';
export type OptionValue = number | boolean | string | number[];

export interface PressOption {
  name: string;
  type: OptionType;
  /** The allowed values of a `choice`. */
  values?: readonly string[];
  /** What the press uses when the option is not given (undefined: nothing, e.g. no layer skipped). */
  default?: OptionValue;
  describe: string;
}

/** How a press is sized: a ratio only, a ratio or an absolute budget, or neither (the full cache). */
type Sizing = 'ratio' | 'ratio-or-budget' | 'none';

interface Entry {
  describe: string;
  /** Default 'ratio-or-budget'. */
  sizing?: Sizing;
  /** Default none (only ratio / budget). */
  options?: readonly PressOption[];
  make: (spec: PressSpec) => Press;
}

const opt = (
  name: string,
  type: OptionType,
  def: OptionValue | undefined,
  describe: string,
  values?: readonly string[],
): PressOption => ({ name, type, default: def, describe, ...(values ? { values } : {}) });

const SINK4 = opt('sink', 'integer', 4, 'leading tokens never evicted (attention sinks)');
const WINDOW = opt('window', 'integer', 32, 'observation window: the last prompt tokens whose queries vote');
const KERNEL = opt('kernel', 'integer', 5, 'pooling kernel over positions (odd)');
const POOLING = opt('pooling', 'choice', 'avg', 'vote smoothing: avg (authors, kvpress) or max', [
  'avg',
  'max',
]);
const LAG_OPTIONS = (skipDefault: number[] | undefined) => [
  opt('sink', 'integer', 16, 'leading tokens never scored or evicted (S)'),
  opt('lag', 'integer', 128, 'partition size L'),
  opt('skipLayers', 'integers', skipDefault, 'layers left uncompressed (e.g. 0/1)'),
];
const PYRAMID = [
  opt('beta', 'number', 20, 'pyramid steepness β: the top layer gets about 1/β of the mean'),
  opt('layout', 'choice', 'kvpress', 'layer budgets: kvpress (window inside, clamped) or linear', [
    'kvpress',
    'linear',
  ]),
];

const EXPECTED = [
  opt('nFuture', 'integer', 512, 'future positions the RoPE rotation is averaged over'),
  opt('nSink', 'integer', 4, 'leading tokens always kept, and leading queries left out of the statistics'),
  opt('useCovariance', 'boolean', true, 'include the covariance term'),
  opt('useVnorm', 'boolean', true, 'rescale by the value norm: (score + ε)·‖v‖'),
  opt('epsilon', 'number', 0, 'ε of the value-norm rescaling'),
];

const PRESSES: Record<string, Entry> = {
  full: { describe: 'no compression (the reference)', sizing: 'none', make: () => new FullPress() },
  lagkv: {
    describe: 'LagKV: lag-relative min-max spread of keys and values, recursive (arXiv 2504.04704)',
    sizing: 'ratio',
    options: [
      ...LAG_OPTIONS(undefined),
      opt('mode', 'choice', 'recursive', 'recursive (the paper) or oneshot (kvpress)', [
        'recursive',
        'oneshot',
      ]),
      opt('useThenCompress', 'boolean', true, 'the step that triggers compression attends to the full cache'),
    ],
    make: (s) => new LagKvPress(s as unknown as LagKvOptions),
  },
  l2kv: {
    describe: 'L2KV: LagKV partitions scored by low key norm (LagKV repository)',
    sizing: 'ratio',
    options: LAG_OPTIONS([0, 1]),
    make: (s) => new L2KvPress(s as unknown as LagKvOptions),
  },
  streaming: {
    describe: 'StreamingLLM: attention sinks + most recent tokens',
    sizing: 'ratio-or-budget',
    options: [SINK4],
    make: (s) => new StreamingLlmPress(s),
  },
  knorm: {
    describe: 'K-norm: keep the keys with the lowest L2 norm',
    sizing: 'ratio-or-budget',
    options: [SINK4],
    make: (s) => new KnormPress(s),
  },
  random: {
    describe: 'random eviction (seeded)',
    sizing: 'ratio-or-budget',
    options: [opt('sink', 'integer', 0, 'leading tokens never evicted'), opt('seed', 'integer', 0, 'seed')],
    make: (s) => new RandomPress(s),
  },
  h2o: {
    describe: 'H2O: heavy hitters by accumulated attention + recent tokens (arXiv 2306.14048)',
    sizing: 'ratio-or-budget',
    make: (s) => new H2oPress(s),
  },
  snapkv: {
    describe: 'SnapKV: observation-window (or question) attention votes, average-pooled (arXiv 2404.14469)',
    sizing: 'ratio-or-budget',
    options: [WINDOW, KERNEL, POOLING],
    make: (s) => new SnapKvPress(s as SnapKvOptions),
  },
  pyramidkv: {
    describe: "PyramidKV: SnapKV with budgets falling over layers, kvpress's schedule (arXiv 2406.02069)",
    sizing: 'ratio-or-budget',
    options: [WINDOW, KERNEL, POOLING, ...PYRAMID],
    make: (s) => new PyramidKvPress(s as PyramidKvOptions),
  },
  tova: {
    describe: 'TOVA: evict what the newest query attends to least, heads averaged (arXiv 2401.06104)',
    sizing: 'ratio-or-budget',
    make: (s) => new TovaPress(s),
  },
  keydiff: {
    describe: 'KeyDiff: keys least similar to the mean key, block-wise, attention-free (arXiv 2504.15364)',
    sizing: 'ratio-or-budget',
    options: [opt('blockSize', 'integer', 128, 'tokens per block of the block-wise selection')],
    make: (s) => new KeyDiffPress(s),
  },
  expected: {
    describe: 'Expected Attention: attention expected from future queries’ statistics (arXiv 2510.00636)',
    sizing: 'ratio-or-budget',
    options: EXPECTED,
    make: (s) => new ExpectedAttentionPress(s as ExpectedAttentionOptions),
  },
  adakv: {
    describe:
      'AdaKV: a layer budget shared across KV heads by global top-k (inner: snapkv | pyramidkv | expected)',
    sizing: 'ratio-or-budget',
    options: [
      opt('inner', 'choice', 'snapkv', 'the press that scores each head', [
        'snapkv',
        'pyramidkv',
        'expected',
      ]),
      opt('safeguard', 'number', 0.2, 'share of the mean head budget each head is guaranteed (α)'),
      WINDOW,
      KERNEL,
      POOLING,
      ...PYRAMID,
      ...EXPECTED,
    ],
    make: (s) => new AdaKvPress(innerOf(s), { safeguard: s.safeguard as number | undefined }),
  },
  'adakv-expected': {
    describe:
      'AdaKV over Expected Attention with ε = 0.01 (kvpress’s evaluation registry "expected_attention")',
    sizing: 'ratio-or-budget',
    options: [
      opt('safeguard', 'number', 0.2, 'share of the mean head budget each head is guaranteed (α)'),
      ...EXPECTED.map((o) => (o.name === 'epsilon' ? { ...o, default: 0.01 } : o)),
    ],
    make: (s) => {
      const { safeguard, ...rest } = s;
      const inner = new ExpectedAttentionPress({ epsilon: 0.01, ...(rest as ExpectedAttentionOptions) });
      return new AdaKvPress(inner, { safeguard: safeguard as number | undefined });
    },
  },
  kvzip: {
    describe:
      'KVzip: what the model attends to when asked to repeat the prompt, ~2× prefill (arXiv 2505.23416)',
    sizing: 'ratio-or-budget',
    options: [
      opt('nSink', 'integer', 4, 'leading cache entries in every probe’s softmax'),
      opt('chunkSize', 'integer', 2048, 'prompt tokens per reconstruction chunk'),
      opt('layerwise', 'boolean', false, 'share the budget within each layer only, not across layers'),
    ],
    make: (s) => new KvzipPress(s),
  },
  decoding: {
    describe: 'compress while generating: every `interval` tokens the inner press keeps the budget (kvpress)',
    sizing: 'ratio-or-budget',
    options: [
      opt('inner', 'choice', 'knorm', 'the press that scores tokens', [
        'knorm',
        'streaming',
        'random',
        'keydiff',
        'expected',
        'snapkv',
        'pyramidkv',
        'adakv',
        'adakv-expected',
      ]),
      opt('interval', 'integer', 512, 'generated tokens between two compressions'),
      opt('prefill', 'boolean', true, 'the inner press compresses the prompt too'),
    ],
    make: (s) =>
      new DecodingPress(decodingInner(s), {
        interval: s.interval as number | undefined,
        prefill: s.prefill as boolean | undefined,
      }),
  },
  laserkv: {
    describe: 'LASER-KV: query-aware block-wise exact + LSH selection, append-only (arXiv 2602.02199)',
    sizing: 'ratio',
    options: [
      opt('blockSize', 'integer', 4096, 'block size bs in tokens'),
      opt('divisor', 'integer', 4, 'protection divisor n: anchors = window = ⌊B/n⌋'),
      opt('split', 'number', 0.75, 'share of each block’s choice made by exact attention (the rest: LSH)'),
      opt('lshBits', 'integer', 10, 'SimHash bits per table K'),
      opt('lshTables', 'integer', 8, 'SimHash tables L'),
      opt('seed', 'integer', 0, 'seed of the SimHash matrix'),
      opt('mode', 'choice', 'append', 'append (LASER-KV) or recursive (fixed cache of ⌊r·S⌋)', [
        'append',
        'recursive',
      ]),
      opt('ablation', 'choice', 'hybrid', 'hybrid, or the exact or lsh stage alone', [
        'hybrid',
        'exact',
        'lsh',
      ]),
      opt('fallbackTokens', 'integer', 32, 'without a question: the prompt’s last tokens stand in for it'),
    ],
    make: (s) => new LaserKvPress(s as unknown as LaserKvOptions),
  },
};

/** AdaKV's inner scoring press: SnapKV by default, PyramidKV or Expected Attention (presses scoring per head). */
function innerOf(s: PressSpec): HeadScorer {
  const { inner, safeguard: _, ...rest } = s;
  const only = (allowed: string, keys: string[]) => {
    for (const k of keys)
      if (rest[k] !== undefined) throw new RangeError(`adakv: ${k} needs inner=${allowed}`);
  };
  const snapKeys = ['window', 'kernel', 'pooling'];
  const expectedKeys = EXPECTED.map((o) => o.name);
  if (inner === 'expected') {
    only('snapkv or pyramidkv', [...snapKeys, 'beta', 'layout']);
    return new ExpectedAttentionPress(rest as ExpectedAttentionOptions);
  }
  only('expected', expectedKeys);
  if (inner === undefined || inner === 'snapkv') {
    only('pyramidkv', ['beta', 'layout']);
    return new SnapKvPress(rest as SnapKvOptions);
  }
  return new PyramidKvPress(rest as PyramidKvOptions);
}

/**
 * The decoding wrapper's inner press: one that scores tokens per KV head, sized by the wrapper's ratio or
 * budget and otherwise at its defaults (kvpress's DecodingPress wraps a ScorerPress the same way).
 */
function decodingInner(s: PressSpec): HeadScorer | AdaKvPress {
  const name = (s.inner as string | undefined) ?? 'knorm';
  const inner = pressFromSpec({ name, ratio: s.ratio, budget: s.budget });
  if (inner instanceof AdaKvPress || ('headScores' in inner && 'layerTarget' in inner))
    return inner as HeadScorer | AdaKvPress;
  throw new RangeError(`decoding: ${name} does not score tokens`);
}

function entryOf(name: string): Entry | undefined {
  // Own keys only: "constructor" or "__proto__" are not presses.
  return Object.hasOwn(PRESSES, name) ? PRESSES[name] : undefined;
}

export function pressNames(): string[] {
  return Object.keys(PRESSES);
}

export interface PressDescription {
  name: string;
  describe: string;
  /** 'ratio' (only a ratio), 'ratio-or-budget', or 'none'. */
  sizing: Sizing;
  options: PressOption[];
}

export function describePresses(): PressDescription[] {
  return Object.entries(PRESSES).map(([name, p]) => ({
    name,
    describe: p.describe,
    sizing: p.sizing ?? 'ratio-or-budget',
    options: [...(p.options ?? [])],
  }));
}

/** The options `name` takes (undefined for an unknown press). */
export function pressOptions(name: string): readonly PressOption[] | undefined {
  const e = entryOf(name);
  return e && (e.options ?? []);
}

function unknownPress(name: string): RangeError {
  return new RangeError(`unknown press "${name}" (known: ${pressNames().join(', ')})`);
}

/** Checks one option value against its declaration; a RangeError names the press and the option. */
function checkOption(press: string, o: PressOption, v: unknown): void {
  const bad = (what: string) =>
    new RangeError(`${press}: option ${o.name} must be ${what}, got ${JSON.stringify(v)}`);
  switch (o.type) {
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a number');
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad('a whole number');
      return;
    case 'integers':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x)))
        throw bad('a list of whole numbers');
      return;
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('true or false');
      return;
    case 'choice':
      if (typeof v !== 'string' || !(o.values ?? []).includes(v)) throw bad((o.values ?? []).join(' or '));
  }
}

/** Builds a press from its name and options; unknown names, unknown options and bad values are RangeErrors. */
export function pressFromSpec(spec: PressSpec): Press {
  const p = entryOf(spec.name);
  if (!p) throw unknownPress(spec.name);
  for (const key of ['ratio', 'budget'] as const) {
    if (spec[key] !== undefined && (typeof spec[key] !== 'number' || !Number.isFinite(spec[key])))
      throw new RangeError(`${spec.name}: ${key} must be a number`);
  }
  if (p.sizing === 'ratio') {
    if (spec.budget !== undefined) throw new RangeError(`${spec.name} takes a ratio, not an absolute budget`);
    if (spec.ratio === undefined) throw new RangeError(`${spec.name} needs a ratio`);
  }
  const options = p.options ?? [];
  for (const [key, v] of Object.entries(spec)) {
    if (key === 'name' || key === 'ratio' || key === 'budget' || v === undefined) continue;
    const o = options.find((x) => x.name === key);
    if (!o) {
      const known = options.map((x) => x.name).join(', ');
      throw new RangeError(
        `${spec.name}: unknown option "${key}" (${known ? `options: ${known}` : 'it takes no options'})`,
      );
    }
    checkOption(spec.name, o, v);
  }
  return p.make(spec);
}

/** One option value from text: numbers, true/false, choices, and lists of whole numbers joined by '/'. */
function parseValue(press: string, o: PressOption, raw: string): OptionValue {
  const bad = () => new RangeError(`${press}: option ${o.name} cannot be "${raw}"`);
  const number = (s: string) => {
    if (s.trim() === '' || !Number.isFinite(Number(s))) throw bad();
    return Number(s);
  };
  switch (o.type) {
    case 'number':
    case 'integer':
      return number(raw);
    case 'integers':
      return raw === '' ? [] : raw.split('/').map(number);
    case 'boolean':
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw bad();
    case 'choice':
      return raw;
  }
}

/**
 * A press with its options as written on a command line: `name` or `name:key=value,key=value`. The values
 * are typed by the press's declarations (pressFromSpec still has to check their ranges).
 */
export function parsePressText(text: string): PressSpec {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  const p = entryOf(name);
  if (!p) throw unknownPress(name);
  const spec: PressSpec = { name };
  if (colon < 0) return spec;
  const options = p.options ?? [];
  for (const item of text.slice(colon + 1).split(',')) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (eq < 0 || key === '') throw new RangeError(`${name}: "${item}" is not key=value`);
    if (key === 'ratio' || key === 'budget')
      throw new RangeError(`${name}: give the ${key} with --${key}, not as a press option`);
    const o = options.find((x) => x.name === key);
    if (!o) {
      const known = options.map((x) => x.name).join(', ');
      throw new RangeError(
        `${name}: unknown option "${key}" (${known ? `options: ${known}` : 'it takes no options'})`,
      );
    }
    if (Object.hasOwn(spec, key)) throw new RangeError(`${name}: option ${key} given twice`);
    spec[key] = parseValue(name, o, item.slice(eq + 1).trim());
  }
  return spec;
}

/** The text form of a spec (`lagkv:sink=4,lag=64`; ratio and budget left out), options in declared order. */
export function formatPressText(spec: PressSpec): string {
  const order = (pressOptions(spec.name) ?? []).map((o) => o.name);
  const opts = Object.entries(spec)
    .filter(([k, v]) => k !== 'name' && k !== 'ratio' && k !== 'budget' && v !== undefined)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : String(v)}`);
  return opts.length === 0 ? spec.name : `${spec.name}:${opts.join(',')}`;
}
