import { parseArgs } from 'node:util';
import { parsePresses } from '../../bench/runner/spec.js';
import { passkeySample, scorePasskey } from '../../bench/tasks/passkey.js';
import { type PressSpec, parsePressText } from '../../presses/index.js';
import { UsageError } from '../errors.js';
import { loadFromArgs } from '../load.js';
import { MODEL_HELP, modelOptions, num } from '../options.js';
import { formatBytes } from '../progress.js';

export const DEMO_HELP = `kvsieve demo [options]

Hides a passkey in a long filler text and asks the model for it, with the full KV cache and with
compressed ones, and prints each answer, whether it was right, and the KV-cache memory it took.

${MODEL_HELP}
      --lengths N,N,...   prompt lengths in tokens (default 512,1024,2048)
      --presses P,P,...   presses to compare (default full,lagkv,streaming,knorm), with options as
                          in kvsieve presses: full,lagkv:lag=64,sink=4,streaming
  -r, --ratio R           compression ratio for the presses (default 4)
      --digits N          passkey digits (default 5)
      --seed N            which passkeys (default 1)
      --json              one JSON object with every answer instead of the table`;

function parseLength(s: string): number {
  const m = s.trim().match(/^(\d+(?:\.\d+)?)(k?)$/i);
  const n = m ? Math.round(Number(m[1]) * (m[2] ? 1024 : 1)) : Number.NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--lengths: "${s}" is not a token count (e.g. 512 or 2k)`);
  return n;
}

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      lengths: { type: 'string' },
      presses: { type: 'string' },
      ratio: { type: 'string', short: 'r' },
      digits: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const lengths = (values.lengths ?? '512,1024,2048').split(',').map(parseLength);
  const ratio = num(values, 'ratio', { min: 1 }) ?? 4;
  // Presses with options as in bench: full,lagkv:lag=64,sink=4,streaming.
  const presses: PressSpec[] = parsePresses(
    values.presses ?? 'full,lagkv,streaming,knorm',
    ratio,
    'presses',
  ).map((text) => {
    const spec = parsePressText(text);
    return spec.name === 'full' ? spec : { ...spec, ratio };
  });
  const digits = num(values, 'digits', { int: true, min: 1, max: 256 }) ?? 5;
  const seed = num(values, 'seed', { int: true, min: 0 }) ?? 1;
  const model = await loadFromArgs(values);
  const json = values.json === true;
  const out = (text: string) => {
    if (!json) process.stdout.write(text);
  };
  try {
    const c = model.config;
    const samples = lengths.map((len, i) => {
      if (len > c.contextLength) {
        throw new UsageError(`--lengths: ${len} exceeds the model's context of ${c.contextLength}`);
      }
      return passkeySample(model.tokenizer, { tokens: len, depth: 0.5, digits, seed: seed + i });
    });
    out(
      `${c.name}: ${c.nLayers} layers, ${c.nHeads} heads / ${c.nKvHeads} KV heads, context ${c.contextLength}, ${model.backend.name} kernels\n`,
    );
    out(`passkey retrieval, ${digits}-digit keys hidden at 50% depth; presses at ${ratio}× compression\n\n`);
    const col = Math.max(2 * digits + 2, 18);
    out(
      `${'tokens'.padStart(7)}  ${'passkey'.padEnd(digits + 1)} ${presses.map((p) => p.name.padEnd(col)).join(' ')}\n`,
    );
    const score: number[] = presses.map(() => 0);
    const rows: Record<string, unknown>[] = [];
    for (const s of samples) {
      const cells: string[] = [];
      for (const [j, press] of presses.entries()) {
        const ctx = model.createContext({ press });
        const answer = (await ctx.complete(s.prompt, { maxTokens: digits + 3 })).trim();
        const ok = scorePasskey(answer, s.answer) === 1;
        score[j] += ok ? 1 : 0;
        rows.push({
          tokens: s.tokens,
          passkey: s.answer,
          press: press.name,
          ratio: press.ratio ?? 1,
          answer,
          correct: ok,
          keptFraction: ctx.keptFraction,
          peakKvBytes: ctx.peakCacheBytes,
        });
        const shown = answer.match(/\d+/)?.[0] ?? (answer.slice(0, digits) || '∅');
        cells.push(
          `${ok ? '✓' : '✗'} ${shown.slice(0, digits)} ${formatBytes(ctx.peakCacheBytes)}`.padEnd(col),
        );
        ctx.dispose();
      }
      out(`${String(s.tokens).padStart(7)}  ${s.answer.padEnd(digits + 1)} ${cells.join(' ')}\n`);
    }
    out(
      `\n${'correct'.padStart(7)}  ${''.padEnd(digits + 1)} ${score.map((n) => `${n}/${samples.length}`.padEnd(col)).join(' ')}\n`,
    );
    out('(each cell: right/wrong, the number answered, the peak KV-cache memory)\n');
    if (json) process.stdout.write(`${JSON.stringify({ model: c.name, digits, ratio, results: rows })}\n`);
  } finally {
    await model.close();
  }
}
