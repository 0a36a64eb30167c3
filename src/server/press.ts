// The one place requests meet KV-cache compression: a request's press spec becomes its context.
import type { Context } from '../generate/context.js';
import type { Model } from '../model/model.js';
import { invalid } from './errors.js';
import type { PressSpec } from './requests.js';

/** A fresh context for one request, compressed by the press the request (or the server's default) names. */
export function contextFor(
  model: Model,
  press: PressSpec | undefined,
  contextSize: number | undefined,
): Context {
  if (press !== undefined) {
    throw invalid('KV-cache presses are not available in this build', 'kvsieve.press', 'unsupported_press');
  }
  return model.createContext({ contextSize });
}
