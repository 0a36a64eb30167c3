// Chat templates: the Jinja template stored in a model's `tokenizer.chat_template`, rendered with
// @huggingface/jinja and the variables Hugging Face's apply_chat_template passes (messages,
// add_generation_prompt, bos_token, eos_token, tools).
import { Template } from '@huggingface/jinja';
import type { Metadata } from '../gguf/reader.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RenderChatOptions {
  /** End with the header that starts the assistant's reply. */
  addGenerationPrompt: boolean;
  /** Text of the BOS token; templates that print `bos_token` need it. Default ''. */
  bosToken?: string;
  /** Text of the EOS token. Default ''. */
  eosToken?: string;
  /** Tool (function) definitions, for templates that support them; left undefined when absent. */
  tools?: readonly unknown[];
  /** Further template variables, e.g. `date_string` for Llama 3.x (whose default is "26 Jul 2024" or today). */
  vars?: Readonly<Record<string, unknown>>;
}

/** A template that does not parse, or that rejects the conversation (raise_exception, bad role order...). */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
}

/**
 * The ChatML template llama.cpp falls back to for a model without `tokenizer.chat_template`
 * (llm_chat_apply_template's LLM_CHAT_TEMPLATE_CHATML format).
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages -%}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}" +
  "{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

const KEY = 'tokenizer.chat_template';

/** The model's chat template, or ChatML when it has none. */
export function chatTemplateFromMetadata(md: Metadata): string {
  return md.has(KEY) ? md.string(KEY) : CHATML_TEMPLATE;
}

// Parsing is the slow part and a chat re-renders the same template every turn.
const parsed = new Map<string, Template>();
const PARSED_LIMIT = 16;

function compile(source: string): Template {
  let t = parsed.get(source);
  if (t === undefined) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`chat template does not parse: ${(e as Error).message}`);
    }
    if (parsed.size >= PARSED_LIMIT) parsed.clear();
    parsed.set(source, t);
  }
  return t;
}

export function renderChat(
  template: string,
  messages: readonly ChatMessage[],
  opts: RenderChatOptions,
): string {
  const vars: Record<string, unknown> = {
    ...opts.vars,
    messages,
    add_generation_prompt: opts.addGenerationPrompt,
    bos_token: opts.bosToken ?? '',
    eos_token: opts.eosToken ?? '',
  };
  if (opts.tools !== undefined) vars.tools = opts.tools;
  const t = compile(template);
  try {
    return t.render(vars);
  } catch (e) {
    throw new ChatTemplateError(`chat template rejected the conversation: ${(e as Error).message}`);
  }
}
