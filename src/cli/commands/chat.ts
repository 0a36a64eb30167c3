import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { renderChat } from '../../chat/template.js';
import type { Context, GeneratedToken } from '../../generate/context.js';
import { splitAtQuestion } from '../../generate/question.js';
import type { Model } from '../../model/model.js';
import { loadFromArgs, noteChatTemplate } from '../load.js';
import {
  CACHE_TYPE_HELP,
  CONTEXT_HELP,
  cacheTypeFrom,
  cacheTypeOptions,
  checkCacheTypeFor,
  contextOptions,
  contextSizeFrom,
  generateOptionsFrom,
  MODEL_HELP,
  modelOptions,
  PRESS_HELP,
  pressOptions,
  pressSpecFrom,
  SAMPLING_HELP,
  samplingOptions,
} from '../options.js';
import { formatBytes } from '../progress.js';

export const CHAT_HELP = `kvsieve chat [options]

Interactive chat with the model's chat template. The whole conversation stays in one KV cache: each turn
feeds only the new tokens. Compression is query-aware: each turn, the newest user message is the question
the press compresses the conversation with; it is then fed uncompressed. Commands: /reset, /stats, /exit.
Ctrl-C stops a reply and returns to the prompt; at the prompt (or a second time) it quits.

${MODEL_HELP}
${PRESS_HELP}
${CACHE_TYPE_HELP}
${CONTEXT_HELP}
      --system TEXT       system message
${SAMPLING_HELP}`;

function render(
  model: Model,
  messages: { role: string; content: string }[],
  addGenerationPrompt: boolean,
): string {
  const t = model.tokenizer;
  return renderChat(model.chatTemplate, messages, {
    addGenerationPrompt,
    bosToken: t.bos !== undefined ? t.tokenToPiece(t.bos) : '',
    eosToken: t.eos !== undefined ? t.tokenToPiece(t.eos) : '',
  });
}

export async function chatCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      ...samplingOptions,
      ...pressOptions,
      ...cacheTypeOptions,
      ...contextOptions,
      system: { type: 'string' },
    },
  });
  const gen = generateOptionsFrom(values);
  const press = pressSpecFrom(values);
  const cacheType = cacheTypeFrom(values);
  const model = await loadFromArgs(values);
  checkCacheTypeFor(model.config.headDim, cacheType);
  const contextSize = contextSizeFrom(values, model.config.contextLength);
  noteChatTemplate(model);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY === true,
  });
  // Ctrl-C: in a terminal readline (in raw mode) turns it into a 'SIGINT' event on rl; with piped input it is a
  // real signal. Either way it stops the reply under way, or, at the prompt or a second time, ends the chat.
  let reply: AbortController | undefined;
  let quitting = false;
  const interrupt = () => {
    if (reply && !reply.signal.aborted) {
      reply.abort();
      return;
    }
    quitting = true;
    rl.close();
  };
  rl.on('SIGINT', interrupt);
  // Piped input may end while replies are still being written; the lines it held are still read, but a
  // closed readline must not be asked to prompt (Node 24 throws).
  let inputClosed = false;
  rl.on('close', () => {
    inputClosed = true;
  });
  process.on('SIGINT', interrupt);
  const initial = values.system ? [{ role: 'system', content: values.system }] : [];
  let messages = [...initial];
  let ctx = model.createContext({ press, cacheType, contextSize });
  /** The rendered text the cache already holds. */
  let fed = '';
  try {
    // Lines are read through the async iterator, which buffers input typed (or piped) while a reply streams.
    const lines = rl[Symbol.asyncIterator]();
    while (!quitting) {
      if (!inputClosed) {
        rl.setPrompt('> ');
        rl.prompt();
      }
      const next = await lines.next();
      if (next.done || quitting) break; // stdin closed, or Ctrl-C at the prompt
      const line = String(next.value).trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        ctx.dispose();
        ctx = model.createContext({ press, cacheType, contextSize });
        messages = [...initial];
        fed = '';
        continue;
      }
      if (line === '/stats') {
        const kept = (ctx.keptFraction * 100).toFixed(1);
        process.stdout.write(
          `${ctx.tokens.length} tokens seen, ${kept}% kept, KV cache ${formatBytes(ctx.cache.bytes)}\n`,
        );
        continue;
      }
      if (!line) continue;
      messages.push({ role: 'user', content: line });
      const full = render(model, messages, true);
      // Feed only what the cache does not hold yet; if the template re-rendered earlier turns differently,
      // start over from a fresh cache.
      if (!full.startsWith(fed)) {
        ctx.dispose();
        ctx = model.createContext({ press, cacheType, contextSize });
        fed = '';
      }
      let text = '';
      let produced = 0;
      const held = ctx.tokens.length;
      const current = new AbortController();
      reply = current;
      try {
        const opts = { ...gen, skipSpecial: values.special !== true, signal: current.signal };
        for await (const t of turn(model, ctx, full.slice(fed.length), line, opts)) {
          if (t.id >= 0) produced++;
          text += t.text;
          process.stdout.write(t.text);
        }
      } catch (e) {
        // A full context (or a press refusing the turn) ends the turn, not the session. If part of the turn
        // went in, the cache no longer matches the conversation: the next turn starts from a fresh one.
        if (!(e instanceof RangeError)) throw e;
        process.stdout.write(`\n[${e.message}; /reset starts over]\n`);
        messages.pop();
        if (ctx.tokens.length !== held) {
          ctx.dispose();
          ctx = model.createContext({ press, cacheType, contextSize });
          fed = '';
        }
        continue;
      } finally {
        reply = undefined;
      }
      if (current.signal.aborted) {
        process.stdout.write('\n[reply interrupted]\n');
        if (produced === 0) {
          // Stopped inside the prompt: the cache may hold part of it, so the next turn starts afresh.
          messages.pop();
          ctx.dispose();
          ctx = model.createContext({ press, cacheType, contextSize });
          fed = '';
          continue;
        }
      } else process.stdout.write('\n');
      // An interrupted reply stays in the conversation as far as it went: the cache holds it.
      messages.push({ role: 'assistant', content: text.trim() });
      fed = full + text;
    }
  } finally {
    rl.close();
    process.off('SIGINT', interrupt);
    await model.close();
  }
  if (quitting) process.exitCode = 130;
}

/**
 * One turn: the new text up to the user's message is compressed with the message (and what the template puts
 * after it) as the question, which is then fed uncompressed; decoding compresses as the press does.
 */
async function* turn(
  model: Model,
  ctx: Context,
  text: string,
  question: string,
  gen: ReturnType<typeof generateOptionsFrom> & { skipSpecial: boolean; signal: AbortSignal },
): AsyncGenerator<GeneratedToken> {
  const opts = { ...gen, addSpecial: false };
  const encode = (s: string) => model.tokenizer.encode(s, { addSpecial: false, parseSpecial: true });
  const split = splitAtQuestion(encode, text, question);
  // A turn that cannot fit is refused before any of it goes in.
  const n = split ? split.context.length + split.rest.length : encode(text).length;
  if (ctx.tokens.length + n > ctx.contextSize)
    throw new RangeError(
      `${n} tokens after ${ctx.tokens.length} exceed the context size of ${ctx.contextSize} tokens`,
    );
  if (!split) {
    // Nothing before the message to compress: the message is prefilled as the question of itself.
    yield* ctx.generate(text, { ...opts, question });
    return;
  }
  // Interrupted while the context goes in: nothing to say (the caller starts the next turn afresh).
  if ((await ctx.prefill(split.context, { ...opts, question: split.rest })) === undefined) return;
  yield* ctx.generate(split.rest, { ...opts, compress: false });
}
