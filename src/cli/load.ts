import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileProblem } from '../errors.js';
import { Model } from '../model/model.js';
import { defaultModelPath } from '../paths.js';
import { UsageError } from './errors.js';
import { loadOptionsFrom } from './options.js';
import { formatBytes, ProgressBar } from './progress.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** Loads --model (or the embedded default) with a progress bar. */
export async function loadFromArgs(values: Values): Promise<Model> {
  const path = typeof values.model === 'string' ? values.model : defaultModelPath;
  if (!existsSync(path)) {
    throw new UsageError(
      values.model === undefined
        ? `the embedded model ${path} is missing from this checkout`
        : `model file not found: ${path}`,
    );
  }
  if (statSync(path).isDirectory()) throw new UsageError(`--model ${path} is a directory; give a GGUF file`);
  const bar = new ProgressBar('loading');
  const model = await Model.load(path, {
    ...loadOptionsFrom(values),
    onProgress: (done, total) => bar.update(Math.round(done / 2 ** 20), Math.round(total / 2 ** 20), ' MiB'),
  });
  bar.done();
  return model;
}

/** The text of a file named by an option (--file, --system-file...), or a usage error saying what is wrong. */
export function readOptionFile(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--${option} ${path}: ${fileProblem(e)}`);
  }
}

/** Says once, on stderr, that a model without a chat template is being prompted in ChatML. */
export function noteChatTemplate(model: Model): void {
  if (!model.metadata.has('tokenizer.chat_template')) {
    process.stderr.write(
      'kvsieve: this model has no chat template (tokenizer.chat_template); using ChatML, which it may not know\n',
    );
  }
}

export { formatBytes };
