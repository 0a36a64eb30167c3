import { parseArgs } from 'node:util';
import { passkeySample, scorePasskey } from '../../bench/tasks/passkey.js';
import { loadFromArgs } from '../load.js';
import { MODEL_HELP, modelOptions, num } from '../options.js';
import { formatBytes } from '../progress.js';

export const DEMO_HELP = `kvsieve demo [options]

Hides a passkey in a long filler text and asks the model for it, at a few context lengths, and prints
what the model answered, whether it was right, and the KV-cache memory it took.

${MODEL_HELP}
      --lengths N,N,...   prompt lengths in tokens (default 256,512,1024)
      --digits N          passkey digits (default 5)
      --seed N            which passkeys (default 1)`;

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      lengths: { type: 'string' },
      digits: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const lengths = (values.lengths ?? '256,512,1024').split(',').map((s) => {
    const n = Number(s.trim().replace(/k$/i, '000'));
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--lengths: "${s}" is not a token count`);
    return n;
  });
  const digits = num(values, 'digits', { int: true, min: 1, max: 256 }) ?? 5;
  const seed = num(values, 'seed', { int: true, min: 0 }) ?? 1;
  const model = await loadFromArgs(values);
  try {
    const c = model.config;
    process.stdout.write(
      `model ${c.name}: ${c.nLayers} layers, ${c.nHeads} heads / ${c.nKvHeads} KV heads, context ${c.contextLength}, backend ${model.backend.name}\n\n`,
    );
    process.stdout.write(
      `${'tokens'.padStart(7)}  ${'passkey'.padEnd(digits + 2)}  ${'answer'.padEnd(digits + 8)}  ok  KV cache    time\n`,
    );
    for (const [i, len] of lengths.entries()) {
      const s = passkeySample(model.tokenizer, { tokens: len, depth: 0.5, digits, seed: seed + i });
      const ctx = model.createContext();
      const t0 = performance.now();
      const answer = await ctx.complete(s.prompt, { maxTokens: digits + 4 });
      const secs = (performance.now() - t0) / 1000;
      const ok = scorePasskey(answer, s.answer) === 1;
      process.stdout.write(
        `${String(s.tokens).padStart(7)}  ${s.answer.padEnd(digits + 2)}  ${JSON.stringify(answer.trim()).padEnd(digits + 8)}  ${ok ? '✓ ' : '✗ '}  ${formatBytes(ctx.cache.bytes).padEnd(10)} ${secs.toFixed(1)}s\n`,
      );
      ctx.dispose();
    }
  } finally {
    await model.close();
  }
}
