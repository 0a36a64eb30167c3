// POST /v1/completions and /v1/chat/completions: validate, tokenize (on a prompt worker) and size-check the
// prompt and max_tokens (400s come before any queueing for a generation slot), wait for a slot, prefill
// (query-aware: a chat's last user message, or a completion's `kvsieve.question`, is the question the context
// is compressed with; it is then fed uncompressed), then stream or collect the text. A press that refuses the
// prompt is a 400 before any answer starts. The context is freed however the request ends; a client that
// disconnects aborts its generation at the next token (or its tokenizing, if it is still waiting for a worker).
import { randomBytes, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CacheType } from '../cache/cache-type.js';
import { ChatTemplateError } from '../chat/template.js';
import type { Context } from '../generate/context.js';
import type { Model } from '../model/model.js';
import type { PressSpec } from '../presses/index.js';
import { type CacheSnapshot, keptFraction, snapshotCache } from './cache-view.js';
import { ApiError, invalid, modelNotFound, toApiError } from './errors.js';
import { EventStream, sendJson } from './http.js';
import type { Limiter } from './limiter.js';
import { chatShape, completionShape, type KvsieveStats, type ResponseShape, type Usage } from './openai.js';
import { contextFor } from './press.js';
import { completionSegments, type PromptParts, PromptTooLong } from './prompt.js';
import type { PromptWorkers } from './prompt-workers.js';
import { parseChat, parseCompletion } from './requests.js';

export interface GenerationDeps {
  model: Model;
  modelId: string;
  limiter: Limiter;
  /** Context size for every request (default: the model's trained context). */
  contextSize?: number;
  /** Press for requests that name none. */
  defaultPress?: PressSpec;
  /** Cache storage when a request names none (default f16 keys and values). */
  defaultCacheType?: Partial<CacheType>;
  /** Running and queued requests, so shutdown can abort them. */
  inflight: Set<AbortController>;
  /** Registers a live cache (for the stats endpoint); returns the function that unregisters it. */
  track: (cacheBytes: () => number) => () => void;
  keepSnapshot: (s: CacheSnapshot) => void;
  /** Tokenizing and segment mapping, off the serving thread. */
  prompts: PromptWorkers;
}

/** What the request log records about a generation. */
export interface GenerationRecord {
  promptTokens: number;
  completionTokens: number;
  finishReason: string;
  queuedMs: number;
}

export type Endpoint = 'chat' | 'completion';

/** A 400 in the words OpenAI uses when the prompt, or the prompt and max_tokens, exceed the context. */
function contextExceeded(message: string, param: string): ApiError {
  return invalid(message, param, 'context_length_exceeded');
}

export async function handleGeneration(
  deps: GenerationDeps,
  endpoint: Endpoint,
  body: Record<string, unknown>,
  res: ServerResponse,
  record: (r: GenerationRecord) => void,
): Promise<void> {
  const { model } = deps;
  const chat = endpoint === 'chat' ? parseChat(body) : undefined;
  const completion = endpoint === 'completion' ? parseCompletion(body, model.config.vocabSize) : undefined;
  const params = (chat ?? completion)!;
  if (params.model !== undefined && params.model !== deps.modelId) {
    throw modelNotFound(params.model, deps.modelId);
  }
  const press = params.press ?? deps.defaultPress;
  const limit = deps.contextSize ?? model.config.contextLength;
  const promptParam = chat ? 'messages' : 'prompt';
  const tooLong = (tokens: number, exact: boolean) =>
    contextExceeded(
      `this model's maximum context length is ${limit} tokens, but the ${promptParam} came to ` +
        `${exact ? '' : 'at least '}${tokens} tokens`,
      promptParam,
    );

  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);
  deps.inflight.add(abort);
  let parts: PromptParts = { ids: [], context: [] };
  let completionTokens = 0;
  let finishReason = 'refused';
  let queuedMs = 0;
  let ctx: Context | undefined;
  let untrack: (() => void) | undefined;
  try {
    // Tokenizing runs on the prompt workers: a long prompt costs its sender time, not everyone else.
    try {
      parts = chat
        ? await deps.prompts.chat(chat.messages, limit, abort.signal)
        : await completionParts(deps, completion!.prompt, completion!.question, limit, abort.signal);
    } catch (e) {
      if (e instanceof PromptTooLong) throw tooLong(e.tokens, e.exact);
      if (e instanceof ChatTemplateError) throw invalid(e.message, 'messages');
      throw e;
    }
    const ids = parts.ids;
    if (ids.length > limit) throw tooLong(ids.length, true);
    const asked = params.sampling.maxTokens;
    if (asked !== undefined && ids.length + asked > limit) {
      throw contextExceeded(
        `this model's maximum context length is ${limit} tokens, but ${ids.length + asked} were requested ` +
          `(${ids.length} in the ${promptParam}, ${asked} in ${params.maxTokensParam}); ` +
          `reduce the ${promptParam} or ${params.maxTokensParam}`,
        params.maxTokensParam,
      );
    }
    const context = contextFor(model, press, limit, { ...deps.defaultCacheType, ...params.cacheType });
    ctx = context;
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    const meta = {
      id,
      model: deps.modelId,
      created: Math.floor(Date.now() / 1000),
      includeUsage: params.includeUsage,
    };
    const shape: ResponseShape = chat ? chatShape(meta) : completionShape(meta);
    // OpenAI's defaults: 16 tokens for completions (within what the context has left), the rest of the
    // context for chat.
    const maxTokens = asked ?? (chat ? limit - ids.length : Math.min(16, limit - ids.length));
    untrack = deps.track(() => context.cache.bytes);
    const queuedAt = performance.now();
    const release = await deps.limiter.acquire(abort.signal);
    queuedMs = performance.now() - queuedAt;
    let stream: EventStream | undefined;
    try {
      const prefilled = await prefill(context, parts, abort.signal);
      stream = params.stream ? new EventStream(res) : undefined;
      for (const c of shape.opening()) stream?.send(c);
      let text = '';
      const { stop, seed, ...sampling } = params.sampling;
      // Without a seed, OpenAI samples differently each time (a fixed default would repeat every answer).
      const options = {
        ...sampling,
        seed: seed ?? randomInt(2 ** 32),
        maxTokens,
        stop,
        signal: abort.signal,
        // The question is fed as it is; the answer is compressed as the press does while decoding.
        compress: false,
      };
      if (prefilled)
        for await (const t of context.generate(parts.rest ?? [], options)) {
          if (t.id >= 0) completionTokens++;
          if (t.text === '') continue;
          if (stream) stream.send(shape.delta(t.text));
          else text += t.text;
        }
      finishReason = prefilled ? (context.finishReason ?? 'stop') : 'abort';
      if (finishReason === 'abort') {
        // A disconnected client hears nothing more; a shutdown tells the client why its answer stopped.
        const reason: unknown = abort.signal.reason;
        if (reason instanceof ApiError) {
          if (stream) stream.fail(reason);
          else sendJson(res, reason.status, reason.body);
        }
        return;
      }
      const reason = finishReason === 'length' ? 'length' : 'stop';
      const snapshot = snapshotCache(context, id, ids.length, (promptTokens, tokensSeen) =>
        chat
          ? deps.prompts.segments(chat.messages, promptTokens, tokensSeen)
          : Promise.resolve(completionSegments(promptTokens, tokensSeen)),
      );
      deps.keepSnapshot(snapshot);
      const stats: KvsieveStats = {
        press: press?.name ?? null,
        ratio: press?.ratio ?? null,
        budget: press?.budget ?? null,
        kept_fraction: keptFraction(snapshot),
        kv_bytes: snapshot.kvBytes,
        kept_tokens: snapshot.keptTokens,
        tokens_seen: snapshot.tokensSeen,
        cache_id: id,
      };
      const usage: Usage = {
        prompt_tokens: ids.length,
        completion_tokens: completionTokens,
        total_tokens: ids.length + completionTokens,
      };
      if (stream) {
        stream.send(shape.finish(reason, stats));
        if (params.includeUsage) stream.send(shape.usage(usage));
        stream.done();
      } else {
        sendJson(res, 200, shape.whole(text, reason, usage, stats));
      }
    } catch (e) {
      // Once the event stream has started, an error can only be reported inside it.
      stream?.fail(toApiError(e));
      finishReason = 'error';
      throw e;
    } finally {
      release();
    }
  } finally {
    res.off('close', onClose);
    deps.inflight.delete(abort);
    untrack?.();
    ctx?.dispose();
    record({ promptTokens: parts.ids.length, completionTokens, finishReason, queuedMs });
  }
}

/** A completion's prompt (tokenized on a worker unless given as ids) and its `kvsieve.question` after it. */
async function completionParts(
  deps: GenerationDeps,
  prompt: string | number[],
  question: string | number[] | undefined,
  limit: number,
  signal: AbortSignal,
): Promise<PromptParts> {
  let context: number[];
  if (typeof prompt !== 'string') context = prompt;
  else {
    // A lower bound on the token count refuses a huge prompt at once, before it waits for a worker.
    const atLeast = deps.model.tokenizer.minTokens(prompt, { addSpecial: true });
    if (atLeast > limit) throw new PromptTooLong(atLeast, false);
    context = await deps.prompts.completion(prompt, limit, signal);
  }
  if (question === undefined) return { ids: context, context };
  const rest =
    typeof question === 'string'
      ? await deps.prompts.question(question, limit - context.length, signal)
      : question;
  if (rest.length === 0) throw invalid("'kvsieve.question' has no tokens", 'kvsieve.question');
  return { ids: [...context, ...rest], context, rest };
}

/**
 * Prefills the context part of the prompt, query-aware when the prompt has a question; false when aborted.
 * RangeErrors here are the press refusing this prompt (the prompt's length was checked before): 400s.
 */
async function prefill(ctx: Context, parts: PromptParts, signal: AbortSignal): Promise<boolean> {
  try {
    return (await ctx.prefill(parts.context, { question: parts.rest, signal })) !== undefined;
  } catch (e) {
    if (e instanceof RangeError) throw invalid(e.message, 'kvsieve', 'invalid_press');
    throw e;
  }
}
