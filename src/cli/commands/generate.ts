import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderChat } from '../../chat/template.js';
import { UsageError } from '../errors.js';
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
import { ProgressBar } from '../progress.js';

export const GENERATE_HELP = `kvsieve generate [options] [PROMPT]

Generates a continuation of PROMPT (or --file) and streams it to stdout.

${MODEL_HELP}
${PRESS_HELP}
${CACHE_TYPE_HELP}
      --file FILE         read the prompt from FILE
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
      file: { type: 'string', short: 'f' },
      chat: { type: 'boolean' },
      system: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  let prompt = values.file !== undefined ? readFileSync(values.file, 'utf8') : positionals.join(' ');
  if (values.file === undefined && positionals.length === 0)
    throw new UsageError('give a prompt (or --file FILE)');
  const gen = generateOptionsFrom(values);
  const press = pressSpecFrom(values);
  const cacheType = cacheTypeFrom(values);
  const model = await loadFromArgs(values);
  checkCacheTypeFor(model.config.headDim, cacheType);
  try {
    if (values.chat) {
      const messages = [
        ...(values.system ? [{ role: 'system', content: values.system }] : []),
        { role: 'user', content: prompt },
      ];
      prompt = renderChat(model.chatTemplate, messages, {
        addGenerationPrompt: true,
        bosToken: model.tokenizer.bos !== undefined ? model.tokenizer.tokenToPiece(model.tokenizer.bos) : '',
        eosToken: model.tokenizer.eos !== undefined ? model.tokenizer.tokenToPiece(model.tokenizer.eos) : '',
      });
    }
    const ctx = model.createContext({ press, cacheType });
    const bar = new ProgressBar('prefill');
    const t0 = performance.now();
    let tPrefill = t0;
    let promptTokens = 0;
    let n = 0;
    let text = '';
    for await (const t of ctx.generate(prompt, {
      ...gen,
      addSpecial: !values.chat,
      onPrefill: (done, total) => {
        bar.update(done, total, ' tok');
        promptTokens = total;
        if (done === total) {
          bar.done();
          tPrefill = performance.now();
        }
      },
    })) {
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
        press: ctx.press?.name ?? 'full',
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
