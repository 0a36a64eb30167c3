import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { renderChat } from '../../chat/template.js';
import type { Context, GeneratedToken } from '../../generate/context.js';
import { splitAtQuestion } from '../../generate/question.js';
import type { Model } from '../../model/model.js';
import { loadFromArgs } from '../load.js';
import {
  CACHE_TYPE_HELP,
  cacheTypeFrom,
  cacheTypeOptions,
  checkCacheTypeFor,
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

${MODEL_HELP}
${PRESS_HELP}
${CACHE_TYPE_HELP}
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
      system: { type: 'string' },
    },
  });
  const gen = generateOptionsFrom(values);
  const press = pressSpecFrom(values);
  const cacheType = cacheTypeFrom(values);
  const model = await loadFromArgs(values);
  checkCacheTypeFor(model.config.headDim, cacheType);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY === true,
  });
  const initial = values.system ? [{ role: 'system', content: values.system }] : [];
  let messages = [...initial];
  let ctx = model.createContext({ press, cacheType });
  /** The rendered text the cache already holds. */
  let fed = '';
  try {
    // Lines are read through the async iterator, which buffers input typed (or piped) while a reply streams.
    const lines = rl[Symbol.asyncIterator]();
    for (;;) {
      rl.setPrompt('> ');
      rl.prompt();
      const next = await lines.next();
      if (next.done) break; // stdin closed
      const line = String(next.value).trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        ctx.dispose();
        ctx = model.createContext({ press, cacheType });
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
        ctx = model.createContext({ press, cacheType });
        fed = '';
      }
      let reply = '';
      const held = ctx.tokens.length;
      try {
        for await (const t of turn(model, ctx, full.slice(fed.length), line, gen)) {
          reply += t.text;
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
          ctx = model.createContext({ press });
          fed = '';
        }
        continue;
      }
      process.stdout.write('\n');
      messages.push({ role: 'assistant', content: reply.trim() });
      fed = full + reply;
    }
  } finally {
    rl.close();
    await model.close();
  }
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
  gen: ReturnType<typeof generateOptionsFrom>,
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
  await ctx.prefill(split.context, { ...opts, question: split.rest });
  yield* ctx.generate(split.rest, { ...opts, compress: false });
}
