// Options shared by the commands that load a model, with validation that names the bad option.
import { randomInt } from 'node:crypto';
import type { ParseArgsConfig } from 'node:util';
import { type CacheType, checkCacheType, isKvTypeName, KV_TYPE_NAMES } from '../cache/cache-type.js';
import type { GenerateOptions } from '../generate/context.js';
import type { LoadOptions } from '../model/model.js';
import { type PressSpec, parsePressText, pressFromSpec } from '../presses/index.js';
import { UsageError } from './errors.js';

export const modelOptions = {
  model: { type: 'string', short: 'm' },
  backend: { type: 'string' },
  threads: { type: 'string', short: 't' },
  'batch-size': { type: 'string' },
  repack: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export const samplingOptions = {
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  seed: { type: 'string' },
  'max-tokens': { type: 'string', short: 'n' },
  stop: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

export const MODEL_HELP = `  -m, --model FILE        GGUF model (default: the embedded kvsieve-demo model)
      --backend wasm|ref  kernels: WebAssembly SIMD (default) or the TypeScript reference
  -t, --threads N         worker threads (default: all cores)
      --batch-size N      prefill chunk size in tokens (default 256)
      --repack            store Q5_0 weights as Q8_0 (the same values, 55% more bytes for them, faster
                          decoding: most matrices of a Q4_K_M Qwen2.5-0.5B or SmolLM2 are Q5_0)`;

export const SAMPLING_HELP = `      --temperature T     0 = greedy (default 0)
      --top-k K           --top-p P    --min-p P    --repeat-penalty R
      --seed N            random seed for sampling (default: a fresh one each run; --json shows it)
  -n, --max-tokens N      most tokens to generate (default 256)
      --stop TEXT         stop before TEXT (repeatable)`;

type Values = Record<string, string | boolean | string[] | undefined>;

export function num(
  values: Values,
  name: string,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const bad =
    typeof raw !== 'string' ||
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    (opts.int && !Number.isInteger(v)) ||
    (opts.min !== undefined && v < opts.min) ||
    (opts.max !== undefined && v > opts.max);
  if (bad) {
    const range = [
      opts.min !== undefined ? `>= ${opts.min}` : '',
      opts.max !== undefined ? `<= ${opts.max}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    throw new UsageError(
      `--${name} must be ${opts.int ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, got "${raw}"`,
    );
  }
  return v;
}

export function loadOptionsFrom(values: Values): LoadOptions {
  const backend = values.backend;
  if (backend !== undefined && backend !== 'wasm' && backend !== 'ref') {
    throw new UsageError(`--backend must be "wasm" or "ref", got "${backend}"`);
  }
  return {
    backend,
    threads: num(values, 'threads', { int: true, min: 1, max: 256 }),
    batchSize: num(values, 'batch-size', { int: true, min: 1, max: 8192 }),
    repack: values.repack === true,
  };
}

export function generateOptionsFrom(values: Values): GenerateOptions {
  return {
    temperature: num(values, 'temperature', { min: 0 }),
    topK: num(values, 'top-k', { int: true, min: 0 }),
    topP: num(values, 'top-p', { min: 0, max: 1 }),
    minP: num(values, 'min-p', { min: 0, max: 1 }),
    repeatPenalty: num(values, 'repeat-penalty', { min: 0 }),
    // Without --seed every run samples differently (as llama.cpp does); --json reports the seed drawn.
    seed: num(values, 'seed', { int: true, min: 0, max: 2 ** 32 - 1 }) ?? randomInt(2 ** 32),
    maxTokens: num(values, 'max-tokens', { int: true, min: 0 }) ?? 256,
    stop: values.stop as string[] | undefined,
  };
}

/** Options of the commands that run a context (generate, chat). */
export const contextOptions = {
  'context-size': { type: 'string', short: 'c' },
  special: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export const CONTEXT_HELP = `  -c, --context-size N    most tokens in the context (default: the model's context length)
      --special           print special tokens such as <s> in the output (hidden by default)`;

/** --context-size, at most the model's trained context (undefined: that context). */
export function contextSizeFrom(values: Values, modelContext: number): number | undefined {
  return num(values, 'context-size', { int: true, min: 1, max: modelContext });
}

export const pressOptions = {
  press: { type: 'string', short: 'p' },
  ratio: { type: 'string', short: 'r' },
  budget: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const PRESS_HELP = `  -p, --press NAME[:OPT=V,...]
                          KV-cache compression, with options, e.g. lagkv:lag=64,sink=4 (kvsieve presses
                          lists them and their defaults; default: full cache)
  -r, --ratio R           compression ratio: keep about 1/R of the tokens (default 4 with a press)
      --budget N          or an absolute number of tokens per KV head`;

export const cacheTypeOptions = {
  'cache-type-k': { type: 'string' },
  'cache-type-v': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const CACHE_TYPE_HELP = `      --cache-type-k T    how the cache stores keys: f32, f16 (default), q8_0, q4_0 (as llama.cpp)
      --cache-type-v T    how the cache stores values (the same choices)`;

/** The cache storage from --cache-type-k/-v (checked against the model's head size when a context is made). */
export function cacheTypeFrom(values: Values): Partial<CacheType> {
  const out: Partial<CacheType> = {};
  for (const part of ['k', 'v'] as const) {
    const v = values[`cache-type-${part}`];
    if (v === undefined) continue;
    if (!isKvTypeName(v))
      throw new UsageError(`--cache-type-${part} must be one of ${KV_TYPE_NAMES.join(', ')}, got "${v}"`);
    out[part] = v;
  }
  return out;
}

/** Fails (exit 2) when the model's head size cannot take the cache types asked for. */
export function checkCacheTypeFor(headDim: number, t: Partial<CacheType>): void {
  checkCacheType(t, headDim, (part) => `--cache-type-${part}`);
}

/** The press spec from --press/--ratio/--budget (undefined = full cache); bad presses and options fail here. */
export function pressSpecFrom(values: Values): PressSpec | undefined {
  const text = values.press;
  const ratio = num(values, 'ratio', { min: 1 });
  const budget = num(values, 'budget', { int: true, min: 1 });
  if (text === undefined) {
    if (ratio !== undefined || budget !== undefined) throw new UsageError('--ratio/--budget need a --press');
    return undefined;
  }
  if (typeof text !== 'string') throw new UsageError('--press takes one press');
  if (ratio !== undefined && budget !== undefined) throw new UsageError('give --ratio or --budget, not both');
  let spec: PressSpec;
  try {
    const parsed = parsePressText(text);
    spec = budget !== undefined ? { ...parsed, budget } : { ...parsed, ratio: ratio ?? 4 };
    pressFromSpec(spec); // fail on a bad press or option before the model loads
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`--press: ${e.message}`);
    throw e;
  }
  return spec;
}
