import { parseArgs } from 'node:util';
import { convertLlama2c } from '../../convert/llama2c.js';
import { UsageError } from '../errors.js';

export const CONVERT_HELP = `kvsieve convert CHECKPOINT --tokenizer TOKENIZER -o OUT.gguf [--name NAME]

Converts a llama2.c checkpoint (model.bin + tokenizer.bin, karpathy/llama2.c format) to GGUF.`;

export async function convertCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tokenizer: { type: 'string' },
      output: { type: 'string', short: 'o' },
      name: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('convert takes one llama2.c checkpoint');
  if (!values.tokenizer) throw new UsageError('--tokenizer is required (the llama2.c tokenizer.bin)');
  if (!values.output) throw new UsageError('-o/--output is required');
  const h = convertLlama2c(positionals[0], values.tokenizer, values.output, values.name);
  process.stdout.write(
    `wrote ${values.output}: dim ${h.dim}, ${h.nLayers} layers, ${h.nHeads} heads (${h.nKvHeads} KV), vocab ${h.vocabSize}, context ${h.seqLen}\n`,
  );
}
