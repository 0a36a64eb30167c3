// Validates OpenAI request bodies into typed parameters. Every problem is a 400 naming the field, so a client
// learns what to fix; fields this server cannot honour are refused rather than silently ignored.

import { type CacheType, isKvTypeName, KV_TYPE_NAMES } from '../cache/cache-type.js';
import type { ChatMessage } from '../chat/template.js';
import { type PressSpec, pressFromSpec, pressNames } from '../presses/index.js';
import { invalid } from './errors.js';

type Body = Record<string, unknown>;

export interface SamplingParams {
  /** Undefined: the endpoint's default (OpenAI: 16 for completions, the rest of the context for chat). */
  maxTokens?: number;
  temperature: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repeatPenalty?: number;
  seed?: number;
  stop: string[];
}

interface CommonParams {
  /** The model the client named, if it named one. */
  model?: string;
  /** Which field set max_tokens ('max_tokens' or 'max_completion_tokens'), for errors about it. */
  maxTokensParam: string;
  stream: boolean;
  includeUsage: boolean;
  sampling: SamplingParams;
  press?: PressSpec;
  /** `kvsieve.cacheType`: storage of keys and values for this request's cache. */
  cacheType?: Partial<CacheType>;
}

export interface CompletionParams extends CommonParams {
  prompt: string | number[];
  /** `kvsieve.question`: asked after the prompt, which is compressed with it in view. */
  question?: string | number[];
}

export interface ChatParams extends CommonParams {
  messages: ChatMessage[];
}

/** A number field; `name` is what errors call it (nested fields: "kvsieve.ratio"). */
function num(
  body: Body,
  key: string,
  o: { int?: boolean; min?: number; above?: number; max?: number; below?: number } = {},
  name = key,
): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!o.int || Number.isSafeInteger(v)) &&
    (o.min === undefined || v >= o.min) &&
    (o.above === undefined || v > o.above) &&
    (o.max === undefined || v <= o.max) &&
    (o.below === undefined || v < o.below);
  if (!ok) {
    const bounds: [number | undefined, string][] = [
      [o.min, '>='],
      [o.above, '>'],
      [o.max, '<='],
      [o.below, '<'],
    ];
    const range = bounds
      .filter(([b]) => b !== undefined)
      .map(([b, op]) => `${op} ${b}`)
      .join(' and ');
    throw invalid(`'${name}' must be ${o.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`, name);
  }
  return v;
}

function bool(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`'${key}' must be a boolean`, key);
  return v;
}

function object(body: Body, key: string, name = key): Body | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`'${name}' must be an object`, name);
  return v as Body;
}

function stops(body: Body): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw invalid("'stop' must be a non-empty string or an array of up to 4 non-empty strings", 'stop');
  }
  return list as string[];
}

/** Options this server does not implement: accepted at their no-op values, refused otherwise. */
function refuseUnsupported(body: Body): void {
  const noop: Record<string, (v: unknown) => boolean> = {
    n: (v) => v === 1,
    logprobs: (v) => v === false || v === 0,
    top_logprobs: (v) => v === 0,
    echo: (v) => v === false,
    best_of: (v) => v === 1,
    presence_penalty: (v) => v === 0,
    frequency_penalty: (v) => v === 0,
    tools: (v) => Array.isArray(v) && v.length === 0,
    suffix: (v) => v === '',
  };
  for (const [key, isNoop] of Object.entries(noop)) {
    const v = body[key];
    if (v !== undefined && v !== null && !isNoop(v)) {
      throw invalid(`'${key}' is not supported by this server`, key, 'unsupported_parameter');
    }
  }
}

const KVSIEVE_FIELDS = ['press', 'ratio', 'budget', 'options', 'question', 'cacheType'];

/** The `kvsieve` extension object, its fields checked by name. */
function extension(body: Body): Body | undefined {
  const ext = object(body, 'kvsieve');
  if (ext === undefined) return undefined;
  for (const key of Object.keys(ext))
    if (!KVSIEVE_FIELDS.includes(key))
      throw invalid(
        `'kvsieve.${key}' is not a kvsieve field (${KVSIEVE_FIELDS.join(', ')})`,
        `kvsieve.${key}`,
      );
  return ext;
}

/**
 * The press a request names: `kvsieve.press` with `kvsieve.ratio` or `kvsieve.budget` and `kvsieve.options`
 * (the press's own options, as `kvsieve presses` lists them). Built once here so that every bad name, option
 * or value is a 400 naming its field before the request queues.
 */
function pressSpec(body: Body): PressSpec | undefined {
  const ext = extension(body);
  const given = (k: string) => ext !== undefined && ext[k] !== undefined && ext[k] !== null;
  if (ext === undefined || !given('press')) {
    if (['ratio', 'budget', 'options'].some(given))
      throw invalid(
        "'kvsieve.ratio', 'kvsieve.budget' and 'kvsieve.options' need 'kvsieve.press'",
        'kvsieve.press',
      );
    return undefined;
  }
  if (typeof ext.press !== 'string' || ext.press === '') {
    throw invalid("'kvsieve.press' must be a press name", 'kvsieve.press');
  }
  if (!pressNames().includes(ext.press))
    throw invalid(
      `unknown press "${ext.press}" (known: ${pressNames().join(', ')})`,
      'kvsieve.press',
      'invalid_press',
    );
  const ratio = num(ext, 'ratio', { min: 1 }, 'kvsieve.ratio');
  const budget = num(ext, 'budget', { int: true, min: 1 }, 'kvsieve.budget');
  if (ratio !== undefined && budget !== undefined) {
    throw invalid("give 'kvsieve.ratio' or 'kvsieve.budget', not both", 'kvsieve.ratio');
  }
  const options = given('options') ? ext.options : {};
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalid("'kvsieve.options' must be an object", 'kvsieve.options');
  for (const k of ['name', 'ratio', 'budget'])
    if (Object.hasOwn(options, k))
      throw invalid(`give the ${k} as 'kvsieve.${k === 'name' ? 'press' : k}'`, `kvsieve.options.${k}`);
  // Like the CLI's --press: ratio 4 unless told otherwise.
  const spec: PressSpec = {
    ...(options as Body),
    name: ext.press,
    ...(budget !== undefined ? { budget } : { ratio: ratio ?? 4 }),
  };
  try {
    pressFromSpec(spec);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    // Name the option the message is about, else the press as a whole.
    const names = (w: string) => new RegExp(`(^|\\W)${w.replace(/\W/g, '\\$&')}(\\W|$)`).test(e.message);
    const key = Object.keys(options).find(names);
    const param = key !== undefined ? `kvsieve.options.${key}` : 'kvsieve';
    throw invalid(e.message, param, 'invalid_press');
  }
  return spec;
}

function cacheTypeOf(body: Body): Partial<CacheType> | undefined {
  const ext = object(body, 'kvsieve');
  const t = ext === undefined ? undefined : object(ext, 'cacheType', 'kvsieve.cacheType');
  if (t === undefined) return undefined;
  const out: Partial<CacheType> = {};
  for (const key of Object.keys(t)) {
    const v = t[key];
    if (key !== 'k' && key !== 'v') {
      throw invalid(`'kvsieve.cacheType' takes 'k' and 'v', not '${key}'`, `kvsieve.cacheType.${key}`);
    }
    if (!isKvTypeName(v)) {
      throw invalid(
        `'kvsieve.cacheType.${key}' must be one of ${KV_TYPE_NAMES.join(', ')}`,
        `kvsieve.cacheType.${key}`,
        'invalid_cache_type',
      );
    }
    out[key] = v;
  }
  return out;
}

function common(body: Body, maxTokensKeys: string[]): CommonParams {
  refuseUnsupported(body);
  if (body.model !== undefined && typeof body.model !== 'string')
    throw invalid("'model' must be a string", 'model');
  const stream = bool(body, 'stream') ?? false;
  const streamOptions = object(body, 'stream_options');
  if (streamOptions !== undefined && !stream) {
    throw invalid("'stream_options' is only allowed with 'stream': true", 'stream_options');
  }
  let maxTokens: number | undefined;
  let maxTokensParam = maxTokensKeys[maxTokensKeys.length - 1];
  for (const key of maxTokensKeys) {
    if (maxTokens !== undefined) break;
    maxTokens = num(body, key, { int: true, min: 0 });
    if (maxTokens !== undefined) maxTokensParam = key;
  }
  return {
    model: body.model as string | undefined,
    maxTokensParam,
    stream,
    includeUsage: streamOptions !== undefined && bool(streamOptions, 'include_usage') === true,
    sampling: {
      maxTokens,
      // OpenAI's default temperature is 1; 0 means greedy decoding.
      temperature: num(body, 'temperature', { min: 0, max: 2 }) ?? 1,
      // The sampler's own ranges, checked here so that a bad value is a 400 before the request queues.
      topP: num(body, 'top_p', { above: 0, max: 1 }),
      topK: num(body, 'top_k', { int: true, min: 0 }),
      minP: num(body, 'min_p', { min: 0, below: 1 }),
      repeatPenalty: num(body, 'repeat_penalty', { above: 0 }),
      seed: num(body, 'seed', { int: true }),
      stop: stops(body),
    },
    press: pressSpec(body),
    cacheType: cacheTypeOf(body),
  };
}

function isTokenArray(v: unknown, vocabSize: number): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && t >= 0 && t < vocabSize);
}

export function parseCompletion(body: Body, vocabSize: number): CompletionParams {
  let prompt = body.prompt;
  // A batch of one prompt is the same as the prompt; larger batches would need n > 1 choices.
  if (
    Array.isArray(prompt) &&
    prompt.length === 1 &&
    (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))
  ) {
    prompt = prompt[0];
  }
  if (typeof prompt !== 'string' && !isTokenArray(prompt, vocabSize)) {
    throw invalid(
      `'prompt' must be a string or an array of token ids in [0, ${vocabSize}) (one prompt per request)`,
      'prompt',
    );
  }
  if (prompt === '') throw invalid("'prompt' must not be empty", 'prompt');
  const params = { ...common(body, ['max_tokens']), prompt };
  const question = extension(body)?.question;
  if (question === undefined || question === null) return params;
  if (!(typeof question === 'string' && question.trim() !== '') && !isTokenArray(question, vocabSize))
    throw invalid(
      `'kvsieve.question' must be a non-empty string or an array of token ids in [0, ${vocabSize})`,
      'kvsieve.question',
    );
  return { ...params, question };
}

function content(v: unknown, i: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  // Content parts: only text can reach a text-only model.
  if (Array.isArray(v)) {
    return v
      .map((part: unknown) => {
        const p = part as { type?: unknown; text?: unknown } | null;
        if (p?.type !== 'text' || typeof p.text !== 'string') {
          throw invalid(`messages[${i}].content: only text parts are supported`, `messages[${i}].content`);
        }
        return p.text;
      })
      .join('');
  }
  throw invalid(
    `messages[${i}].content must be a string or an array of text parts`,
    `messages[${i}].content`,
  );
}

export function parseChat(body: Body): ChatParams {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalid("'messages' must be a non-empty array", 'messages');
  }
  const parsed = messages.map((m: unknown, i): ChatMessage => {
    const msg = m as { role?: unknown; content?: unknown } | null;
    if (typeof msg !== 'object' || msg === null || typeof msg.role !== 'string' || msg.role === '') {
      throw invalid(`messages[${i}] must be an object with a 'role'`, `messages[${i}].role`);
    }
    // OpenAI's newer "developer" role is the system role under another name; chat templates know "system".
    return { role: msg.role === 'developer' ? 'system' : msg.role, content: content(msg.content, i) };
  });
  const ext = extension(body);
  if (ext?.question !== undefined && ext.question !== null)
    throw invalid(
      "'kvsieve.question' is for /v1/completions: chat completions take the last user message as the question",
      'kvsieve.question',
    );
  return { ...common(body, ['max_completion_tokens', 'max_tokens']), messages: parsed };
}
