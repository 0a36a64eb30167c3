// Turns requests into prompt tokens, and prompt tokens back into the conversation parts they came from (for
// the cache view: which message a kept token belongs to).
import { type ChatMessage, ChatTemplateError, renderChat } from '../chat/template.js';
import { splitAtQuestion } from '../generate/question.js';
import type { Model } from '../model/model.js';
import { invalid } from './errors.js';

/** A stretch of positions [start, end) that came from one message (or the prompt / the generated reply). */
export interface Segment {
  index: number;
  role: string;
  start: number;
  end: number;
  /** The model's own output (chat: the reply, with the assistant header the template puts before it). */
  generated: boolean;
}

function render(model: Model, messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  const t = model.tokenizer;
  return renderChat(model.chatTemplate, messages, {
    addGenerationPrompt,
    bosToken: t.bos !== undefined ? t.tokenToPiece(t.bos) : '',
    eosToken: t.eos !== undefined ? t.tokenToPiece(t.eos) : '',
  });
}

// Chat prompts are rendered by the template, which writes any BOS itself (as `kvsieve chat` does); special-token
// texts such as <|im_start|> must become their tokens.
function encodeChat(model: Model, text: string): number[] {
  return model.tokenizer.encode(text, { addSpecial: false, parseSpecial: true });
}

export function chatPrompt(model: Model, messages: readonly ChatMessage[]): number[] {
  let text: string;
  try {
    text = render(model, messages, true);
  } catch (e) {
    if (e instanceof ChatTemplateError) throw invalid(e.message, 'messages');
    throw e;
  }
  return encodeChat(model, text);
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

/** A chat's question is its last user message (with what the template puts after it). */
export function chatParts(model: Model, messages: readonly ChatMessage[]): PromptParts {
  const ids = chatPrompt(model, messages);
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (last === undefined) return { ids, context: ids };
  const text = render(model, messages, true);
  const split = splitAtQuestion((t) => encodeChat(model, t), text, last.content);
  return split ? { ids: [...split.context, ...split.rest], ...split } : { ids, context: ids };
}

/** A completion's question (`kvsieve.question`) is asked after the prompt. */
export function completionParts(
  model: Model,
  prompt: string | number[],
  question: string | number[] | undefined,
): PromptParts {
  const context = completionPrompt(model, prompt);
  if (question === undefined) return { ids: context, context };
  const rest =
    typeof question === 'string'
      ? model.tokenizer.encode(question, { addSpecial: false, parseSpecial: true })
      : question;
  if (rest.length === 0) throw invalid("'kvsieve.question' has no tokens", 'kvsieve.question');
  return { ids: [...context, ...rest], context, rest };
}

export function completionPrompt(model: Model, prompt: string | number[]): number[] {
  return typeof prompt === 'string'
    ? model.tokenizer.encode(prompt, { addSpecial: true, parseSpecial: true })
    : prompt;
}

/**
 * Where each message starts in the prompt: the token count of the conversation rendered up to it. Tokens can
 * merge across a boundary, so a boundary may be off by a token; a template that refuses a partial conversation
 * (e.g. one that insists on alternating roles) merges that message into the next.
 */
export function chatSegments(
  model: Model,
  messages: readonly ChatMessage[],
  promptTokens: number,
  tokensSeen: number,
): Segment[] {
  const bounds = [0];
  for (let i = 1; i <= messages.length; i++) {
    let n = bounds[i - 1];
    try {
      n = encodeChat(model, render(model, messages.slice(0, i), false)).length;
    } catch (e) {
      if (!(e instanceof ChatTemplateError)) throw e;
    }
    bounds.push(Math.min(Math.max(n, bounds[i - 1]), promptTokens));
  }
  const parts = messages.map((m, i) => ({
    index: i,
    role: m.role,
    start: bounds[i],
    end: bounds[i + 1],
    generated: false,
  }));
  const reply = {
    index: messages.length,
    role: 'assistant',
    start: bounds[messages.length],
    end: tokensSeen,
  };
  return [...parts, { ...reply, generated: true }];
}

export function completionSegments(promptTokens: number, tokensSeen: number): Segment[] {
  return [
    { index: 0, role: 'prompt', start: 0, end: promptTokens, generated: false },
    { index: 1, role: 'completion', start: promptTokens, end: tokensSeen, generated: true },
  ];
}
