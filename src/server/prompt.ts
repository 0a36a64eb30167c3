// Turns requests into prompt tokens, and prompt tokens back into the conversation parts they came from (for
// the cache view: which message a kept token belongs to). Pure functions of a tokenizer and a chat template,
// so they run on the prompt workers (prompt-workers.ts), off the thread that serves requests.
import { type ChatMessage, ChatTemplateError, renderChat } from '../chat/template.js';
import { splitAtQuestion } from '../generate/question.js';
import type { EncodeOptions, Tokenizer } from '../tokenizer/tokenizer.js';

/** What prompt building needs of a model. */
export interface PromptModel {
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: string;
}

/** A stretch of positions [start, end) that came from one message (or the prompt / the generated reply). */
export interface Segment {
  index: number;
  role: string;
  start: number;
  end: number;
  /** The model's own output (chat: the reply, with the assistant header the template puts before it). */
  generated: boolean;
}

/** Most messages the cache view tells apart; earlier ones share one segment (the work is per message). */
export const MAX_SEGMENT_MESSAGES = 64;

/** A prompt longer than the context, found before (or without) tokenizing all of it. */
export class PromptTooLong extends Error {
  constructor(
    /** The prompt's length in tokens, or a lower bound of it when `exact` is false. */
    readonly tokens: number,
    readonly exact: boolean,
  ) {
    super(`the prompt has ${exact ? '' : 'at least '}${tokens} tokens`);
    this.name = 'PromptTooLong';
  }
}

function render(model: PromptModel, messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  const t = model.tokenizer;
  return renderChat(model.chatTemplate, messages, {
    addGenerationPrompt,
    bosToken: t.bos !== undefined ? t.tokenToPiece(t.bos) : '',
    eosToken: t.eos !== undefined ? t.tokenToPiece(t.eos) : '',
  });
}

// Chat prompts are rendered by the template, which writes any BOS itself (as `kvsieve chat` does); special-token
// texts such as <|im_start|> must become their tokens.
const CHAT_ENCODE = { addSpecial: false, parseSpecial: true } as const;
const COMPLETION_ENCODE = { addSpecial: true, parseSpecial: true } as const;

/**
 * Encodes text unless it certainly has more than `limit` tokens: a lower bound on the count, from the text's
 * length and the longest token, refuses a huge prompt without tokenizing it.
 */
function encodeWithin(model: PromptModel, text: string, opts: EncodeOptions, limit: number): number[] {
  const atLeast = model.tokenizer.minTokens(text, opts);
  if (atLeast > limit) throw new PromptTooLong(atLeast, false);
  return model.tokenizer.encode(text, opts);
}

/**
 * A prompt's tokens (`ids`), cut where its question starts when it has one: `context` is compressed with
 * `rest` (the question and what follows it) in view, then `rest` is fed uncompressed. `context ++ rest` = ids.
 */
export interface PromptParts {
  ids: number[];
  context: number[];
  rest?: number[];
}

/** The conversation's prompt tokens; ChatTemplateError when the template rejects it. */
export function chatPrompt(model: PromptModel, messages: readonly ChatMessage[], limit = Infinity): number[] {
  return encodeWithin(model, render(model, messages, true), CHAT_ENCODE, limit);
}

/** The conversation's prompt, cut where its question (the last user message) starts. */
export function chatParts(
  model: PromptModel,
  messages: readonly ChatMessage[],
  limit = Infinity,
): PromptParts {
  const text = render(model, messages, true);
  const ids = encodeWithin(model, text, CHAT_ENCODE, limit);
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (last === undefined) return { ids, context: ids };
  const split = splitAtQuestion((t) => model.tokenizer.encode(t, CHAT_ENCODE), text, last.content);
  return split ? { ids: [...split.context, ...split.rest], ...split } : { ids, context: ids };
}

export function completionPrompt(model: PromptModel, prompt: string, limit = Infinity): number[] {
  return encodeWithin(model, prompt, COMPLETION_ENCODE, limit);
}

/** A completion's `kvsieve.question`, asked after the prompt: no BOS, special-token texts recognised. */
export function questionTokens(model: PromptModel, question: string, limit = Infinity): number[] {
  return encodeWithin(model, question, { addSpecial: false, parseSpecial: true }, limit);
}

/**
 * Where each message starts in the prompt: the token count of the conversation rendered up to it. Tokens can
 * merge across a boundary, so a boundary may be off by a token; a template that refuses a partial conversation
 * (e.g. one that insists on alternating roles) merges that message into the next. Past MAX_SEGMENT_MESSAGES
 * messages, the earliest ones form one segment, so the work stays bounded however long the conversation.
 */
export function chatSegments(
  model: PromptModel,
  messages: readonly ChatMessage[],
  promptTokens: number,
  tokensSeen: number,
): Segment[] {
  const first = Math.max(0, messages.length - (MAX_SEGMENT_MESSAGES - 1));
  // The message counts after which the rendered conversation is measured: the merged earlier ones, then each.
  const cuts: number[] = first > 0 ? [first] : [];
  for (let i = first; i < messages.length; i++) cuts.push(i + 1);
  const parts: Segment[] = [];
  let start = 0;
  for (const upTo of cuts) {
    let end = start;
    try {
      end = model.tokenizer.encode(render(model, messages.slice(0, upTo), false), CHAT_ENCODE).length;
    } catch (e) {
      if (!(e instanceof ChatTemplateError)) throw e;
    }
    end = Math.min(Math.max(end, start), promptTokens);
    const merged = upTo === first;
    const index = merged ? 0 : upTo - 1;
    parts.push({ index, role: merged ? 'earlier' : messages[index].role, start, end, generated: false });
    start = end;
  }
  return [...parts, { index: messages.length, role: 'assistant', start, end: tokensSeen, generated: true }];
}

export function completionSegments(promptTokens: number, tokensSeen: number): Segment[] {
  return [
    { index: 0, role: 'prompt', start: 0, end: promptTokens, generated: false },
    { index: 1, role: 'completion', start: promptTokens, end: tokensSeen, generated: true },
  ];
}
