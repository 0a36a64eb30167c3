// The one place requests meet KV-cache compression: a request's press spec becomes its context.
import { type CacheType, CacheTypeError } from '../cache/cache-type.js';
import type { Context } from '../generate/context.js';
import type { Model } from '../model/model.js';
import { type Press, type PressSpec, pressFromSpec, pressNames } from '../presses/index.js';
import { invalid } from './errors.js';

/** Builds the press a spec names; unknown names and bad ratios or budgets are 400s. */
export function pressFor(spec: PressSpec): Press {
  try {
    return pressFromSpec(spec);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const param = pressNames().includes(spec.name) ? 'kvsieve' : 'kvsieve.press';
    throw invalid(e.message, param, 'invalid_press');
  }
}

/**
 * A fresh context for one request, compressed by the press the request (or the server's default) names, its
 * cache stored as the request (or the server) says; a type the model's head size cannot take is a 400.
 */
export function contextFor(
  model: Model,
  spec: PressSpec | undefined,
  contextSize: number,
  cacheType?: Partial<CacheType>,
): Context {
  const press = spec === undefined ? undefined : pressFor(spec);
  try {
    return model.createContext({ contextSize, press, cacheType });
  } catch (e) {
    if (e instanceof CacheTypeError) throw invalid(e.message, 'kvsieve.cacheType', 'invalid_cache_type');
    throw e;
  }
}
