// A question about a long document, asked as the server asks a completion's `kvsieve.question` and the benchmark
// asks its tasks' questions: the document and the question are one prompt, cut where the question starts
// (splitAtQuestion), the document part prefilled with the question in view of the press (query-aware), then
// the question fed uncompressed and the answer generated. The web page asks this way.
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Context, GeneratedToken, GenerateOptions } from './context.js';
import { splitAtQuestion } from './question.js';

export interface DocumentPrompt {
  /** The whole prompt's tokens: `context ++ rest`. */
  ids: number[];
  /** What the press compresses: the document. */
  context: number[];
  /** The question, fed uncompressed after the press has seen it; empty when there is none. */
  rest: number[];
}

/** The prompt's text: the document, a newline, the question. */
export function documentText(document: string, question: string): string {
  const q = question.trim();
  return q === '' ? document : `${document.trimEnd()}\n${q}`;
}

/**
 * The prompt's tokens (BOS as the vocabulary says; special-token texts in the document stay text). Without a
 * question, or with a document that is only whitespace, the whole prompt is context.
 */
export function documentPrompt(tokenizer: Tokenizer, document: string, question: string): DocumentPrompt {
  const encode = (text: string) => tokenizer.encode(text, { addSpecial: true, parseSpecial: false });
  const text = documentText(document, question);
  const split = splitAtQuestion(encode, text, question.trim());
  if (split) return { ids: [...split.context, ...split.rest], ...split };
  const ids = encode(text);
  return { ids, context: ids, rest: [] };
}

/**
 * Prefills `prompt` into an empty context (query-aware when it has a question) and streams the answer. The
 * question is not compressed; the answer is, as the press does while decoding (`compressGenerated`).
 */
export async function* askDocument(
  ctx: Context,
  prompt: DocumentPrompt,
  opts: GenerateOptions = {},
): AsyncGenerator<GeneratedToken> {
  if (ctx.tokens.length > 0) throw new RangeError('askDocument needs an empty context');
  if (prompt.rest.length === 0) {
    yield* ctx.generate(prompt.context, opts);
    return;
  }
  const prefilled = await ctx.prefill(prompt.context, { ...opts, question: prompt.rest });
  if (prefilled === undefined) {
    ctx.finishReason = 'abort';
    return;
  }
  yield* ctx.generate(prompt.rest, { ...opts, compress: false });
}
