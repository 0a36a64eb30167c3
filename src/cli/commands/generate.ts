import { parseArgs } from 'node:util';
import { renderChat } from '../../chat/template.js';
import { UsageError } from '../errors.js';
import { loadFromArgs, noteChatTemplate, readOptionFile } from '../load.js';
import {
  CONTEXT_HELP,
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
the BOS token alone.

${MODEL_HELP}
${PRESS_HELP}
${CONTEXT_HELP}
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
      ...contextOptions,
      file: { type: 'string', short: 'f' },
      chat: { type: 'boolean' },
      system: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  let prompt = values.file !== undefined ? readOptionFile('file', values.file) : positionals.join(' ');
  if (values.file === undefined && positionals.length === 0)
    throw new UsageError('give a prompt (or --file FILE)');
  const gen = generateOptionsFrom(values);
  const press = pressSpecFrom(values);
  const model = await loadFromArgs(values);
  try {
    const contextSize = contextSizeFrom(values, model.config.contextLength);
    if (values.chat) {
      noteChatTemplate(model);
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
    // An empty prompt starts from BOS alone, as llama.cpp and llama2.c do.
    let input: string | number[] = prompt;
    if (prompt === '') {
      const bos = model.tokenizer.bos;
      if (bos === undefined)
        throw new UsageError('the prompt is empty and this model has no BOS token to start from');
      input = [bos];
    }
    const ctx = model.createContext({ press, contextSize });
    const bar = new ProgressBar('prefill');
    const t0 = performance.now();
    let tPrefill = t0;
    let promptTokens = 0;
    let n = 0;
    let text = '';
    for await (const t of ctx.generate(input, {
      ...gen,
      addSpecial: !values.chat,
      skipSpecial: values.special !== true,
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
        seed: gen.seed,
        contextSize: ctx.contextSize,
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
