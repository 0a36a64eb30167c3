import { parseArgs } from 'node:util';
import { renderChat } from '../../chat/template.js';
import type { GeneratedToken } from '../../generate/context.js';
import { splitAtQuestion } from '../../generate/question.js';
import { UsageError } from '../errors.js';
import { loadFromArgs, noteChatTemplate, readOptionFile } from '../load.js';
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
import { ProgressBar } from '../progress.js';

export const GENERATE_HELP = `kvsieve generate [options] [PROMPT]

Generates a continuation of PROMPT (or --file) and streams it to stdout. An empty PROMPT ("") starts from
the BOS token alone. With --question, compression is query-aware: the prompt is compressed with the question
in view, then the question is fed after it (as it is, uncompressed; with --chat it ends the user message) and
the answer generated.

${MODEL_HELP}
${PRESS_HELP}
${CACHE_TYPE_HELP}
${CONTEXT_HELP}
      --file FILE         read the prompt from FILE
      --question TEXT     the question asked after the prompt (query-aware compression)
      --question-file F   read the question from F
      --chat              wrap the prompt as a user message with the model's chat template
      --system TEXT       system message (with --chat)
      --json              print one JSON object with the text, token counts and timings
${SAMPLING_HELP}`;

export async function generateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...modelOptions,
      ...samplingOptions,
      ...pressOptions,
      ...cacheTypeOptions,
      ...contextOptions,
      file: { type: 'string', short: 'f' },
      question: { type: 'string' },
      'question-file': { type: 'string' },
      chat: { type: 'boolean' },
      system: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const prompt = values.file !== undefined ? readOptionFile('file', values.file) : positionals.join(' ');
  if (values.file === undefined && positionals.length === 0)
    throw new UsageError('give a prompt (or --file FILE)');
  if (values.question !== undefined && values['question-file'] !== undefined)
    throw new UsageError('give --question or --question-file, not both');
  const question =
    values['question-file'] !== undefined
      ? readOptionFile('question-file', values['question-file'])
      : values.question;
  if (question !== undefined && question.trim() === '') throw new UsageError('--question must not be empty');
  const gen = generateOptionsFrom(values);
  const press = pressSpecFrom(values);
  const cacheType = cacheTypeFrom(values);
  const model = await loadFromArgs(values);
  try {
    checkCacheTypeFor(model.config.headDim, cacheType);
    const contextSize = contextSizeFrom(values, model.config.contextLength);
    const tok = model.tokenizer;
    let input: string | number[] = prompt;
    // With a question: the tokens that follow the prompt (the question, with --chat also the end of the
    // template), which the press probes and which are then fed uncompressed.
    let rest: number[] | undefined;
    if (values.chat) {
      noteChatTemplate(model);
      const content = question === undefined ? prompt : `${prompt}\n\n${question}`;
      const messages = [
        ...(values.system ? [{ role: 'system', content: values.system }] : []),
        { role: 'user', content },
      ];
      input = renderChat(model.chatTemplate, messages, {
        addGenerationPrompt: true,
        bosToken: tok.bos !== undefined ? tok.tokenToPiece(tok.bos) : '',
        eosToken: tok.eos !== undefined ? tok.tokenToPiece(tok.eos) : '',
      });
      if (question !== undefined) {
        const encode = (text: string) => tok.encode(text, { addSpecial: false, parseSpecial: true });
        const split = splitAtQuestion(encode, input, question);
        if (!split) throw new UsageError('the chat template does not keep the question as written');
        input = split.context;
        rest = split.rest;
      }
    } else {
      if (question !== undefined) rest = tok.encode(question, { addSpecial: false, parseSpecial: true });
      // An empty prompt starts from BOS alone, as llama.cpp and llama2.c do.
      if (prompt === '') {
        if (tok.bos === undefined)
          throw new UsageError('the prompt is empty and this model has no BOS token to start from');
        input = [tok.bos];
      }
    }
    const ctx = model.createContext({ press, cacheType, contextSize });
    const bar = new ProgressBar('prefill');
    const t0 = performance.now();
    let tPrefill = t0;
    let promptTokens = 0;
    let n = 0;
    let text = '';
    const extra = rest?.length ?? 0;
    const onPrefill = (done: number, total: number) => {
      bar.update(done, total + extra, ' tok');
      promptTokens = total + extra;
      if (done === total + extra) {
        bar.done();
        tPrefill = performance.now();
      }
    };
    const opts = { ...gen, addSpecial: !values.chat, skipSpecial: values.special !== true };
    let tokens: AsyncGenerator<GeneratedToken>;
    if (rest === undefined) tokens = ctx.generate(input, { ...opts, onPrefill });
    else {
      await ctx.prefill(input, { ...opts, question: rest, onPrefill });
      const done = promptTokens - extra;
      tokens = ctx.generate(rest, {
        ...opts,
        compress: false,
        onPrefill: (d) => onPrefill(done + d, done),
      });
    }
    for await (const t of tokens) {
      if (t.id >= 0) n++;
      text += t.text;
      if (!values.json) process.stdout.write(t.text);
    }
    const t1 = performance.now();
    if (values.json) {
      const out = {
        text,
        finishReason: ctx.finishReason,
        promptTokens,
        completionTokens: n,
        prefillTokensPerSecond: promptTokens / ((tPrefill - t0) / 1000),
        decodeTokensPerSecond: n / ((t1 - tPrefill) / 1000),
        seed: gen.seed,
        contextSize: ctx.contextSize,
        press: ctx.press?.name ?? 'full',
        cacheType: ctx.cache.type,
        keptFraction: ctx.keptFraction,
        kvBytes: ctx.cache.bytes,
        peakKvBytes: ctx.peakCacheBytes,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else process.stdout.write('\n');
  } finally {
    await model.close();
  }
}
