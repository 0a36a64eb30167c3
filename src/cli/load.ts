import { existsSync } from 'node:fs';
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
  const bar = new ProgressBar('loading');
  const model = await Model.load(path, {
    ...loadOptionsFrom(values),
    onProgress: (done, total) => bar.update(Math.round(done / 2 ** 20), Math.round(total / 2 ** 20), ' MiB'),
  });
  bar.done();
  return model;
}

export { formatBytes };
