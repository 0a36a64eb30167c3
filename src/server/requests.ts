// Validates OpenAI request bodies into typed parameters. Every problem is a 400 naming the field, so a client
// learns what to fix; fields this server cannot honour are refused rather than silently ignored.
import type { ChatMessage } from '../chat/template.js';
import type { PressSpec } from '../presses/index.js';
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
}

export interface CompletionParams extends CommonParams {
  prompt: string | number[];
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

function object(body: Body, key: string): Body | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`'${key}' must be an object`, key);
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

function pressSpec(body: Body): PressSpec | undefined {
  const ext = object(body, 'kvsieve');
  if (ext === undefined || ext.press === undefined || ext.press === null) {
    if (ext !== undefined && (ext.ratio !== undefined || ext.budget !== undefined)) {
      throw invalid("'kvsieve.ratio' and 'kvsieve.budget' need 'kvsieve.press'", 'kvsieve.press');
    }
    return undefined;
  }
  if (typeof ext.press !== 'string' || ext.press === '') {
    throw invalid("'kvsieve.press' must be a press name", 'kvsieve.press');
  }
  const ratio = num(ext, 'ratio', { min: 1 }, 'kvsieve.ratio');
  const budget = num(ext, 'budget', { int: true, min: 1 }, 'kvsieve.budget');
  if (ratio !== undefined && budget !== undefined) {
    throw invalid("give 'kvsieve.ratio' or 'kvsieve.budget', not both", 'kvsieve.ratio');
  }
  // Like the CLI's --press: ratio 4 unless told otherwise.
  return budget !== undefined ? { name: ext.press, budget } : { name: ext.press, ratio: ratio ?? 4 };
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
  return { ...common(body, ['max_tokens']), prompt };
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
  return { ...common(body, ['max_completion_tokens', 'max_tokens']), messages: parsed };
}
