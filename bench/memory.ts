// Memory under compression and cache storage types: a long prefill in kvsieve (press × cache type) and in
// llama.cpp (node-llama-cpp, flash attention, f16 and q8_0 caches) on the same file, each run in its own
// process, reporting peak RSS, the KV cache's bytes at the end and at its peak, and the kept fraction.
//
//   node --import tsx bench/memory.ts [--shape qwen2.5-0.5b] [--quant Q8_0] [--tokens 32k]
//        [--runs full/f16,full/q8_0,lagkv:8/f16,lagkv:8/q8_0] [--llama f16,q8_0] [--threads 2]
//
// The two rows: `--shape qwen2.5-0.5b --tokens 32k` and `--shape llama3.1-8b --quant Q4_K_M --tokens 8k`.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { KvTypeName } from '../src/cache/cache-type.js';
import { formatBytes } from '../src/cli/progress.js';
import { openGguf } from '../src/gguf/reader.js';
import { readConfig } from '../src/model/config.js';
import { openLlamaCpp } from './llama-cpp.js';
import { benchModel, benchPrompt, type QuantName, type ShapeName } from './models.js';

interface Result {
  run: string;
  seconds: number;
  peakRss: number;
  cacheBytes: number;
  peakCacheBytes: number;
  keptFraction: number;
}

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    model: { type: 'string' },
    shape: { type: 'string', default: 'qwen2.5-0.5b' },
    quant: { type: 'string', default: 'Q8_0' },
    tokens: { type: 'string', default: '32k' },
    runs: { type: 'string', default: 'full/f16,full/q8_0,lagkv:8/f16,lagkv:8/q8_0' },
    llama: { type: 'string', default: 'f16,q8_0' },
    threads: { type: 'string', default: '2' },
  },
});
const tokens = Math.round(Number(values.tokens.replace(/k$/i, '')) * (/k$/i.test(values.tokens) ? 1024 : 1));
const threads = Number(values.threads);

async function runKvsieve(path: string, run: string): Promise<Result> {
  const [pressArg, type = 'f16'] = run.split('/');
  const [name, ratio] = pressArg.split(':');
  const { Model } = await import('../src/model/model.js');
  const model = await Model.load(path, { threads });
  const t = type as KvTypeName;
  const ctx = model.createContext({
    press: name === 'full' ? undefined : { name, ratio: Number(ratio ?? 4) },
    cacheType: { k: t, v: t },
    contextSize: Math.max(tokens, model.config.contextLength),
  });
  const t0 = performance.now();
  let last = 0;
  await ctx.prefill(benchPrompt(tokens, model.config.vocabSize), {
    onPrefill: (done) => {
      if (done - last >= 2048) {
        last = done;
        process.stderr.write(
          `  ${run}: ${done}/${tokens} tokens, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
        );
      }
    },
  });
  const r: Result = {
    run: `kvsieve ${run}`,
    seconds: (performance.now() - t0) / 1000,
    peakRss: process.resourceUsage().maxRSS * 1024,
    cacheBytes: ctx.cache.bytes,
    peakCacheBytes: ctx.peakCacheBytes,
    keptFraction: ctx.keptFraction,
  };
  await model.close();
  return r;
}

async function runLlamaCpp(path: string, type: string): Promise<Result> {
  const { model, context } = await openLlamaCpp(path, {
    contextSize: tokens + 64,
    threads,
    batchSize: 512,
    cacheType: type as 'f16' | 'q8_0',
  });
  const seq = context.getSequence();
  const cfg = readConfig(openGguf(path));
  type Tok = Parameters<typeof model.detokenize>[0][number];
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(benchPrompt(tokens, cfg.vocabSize) as Tok[]);
  const seconds = (performance.now() - t0) / 1000;
  // llama.cpp allocates the whole context's cache up front: n_ctx × layers × 2 × kv heads × head dim.
  const perValue = type === 'f16' ? 2 : 34 / 32;
  const kv = (tokens + 64) * cfg.nLayers * 2 * cfg.nKvHeads * cfg.headDim * perValue;
  await context.dispose();
  await model.dispose();
  return {
    run: `llama.cpp ${type}`,
    seconds,
    peakRss: process.resourceUsage().maxRSS * 1024,
    cacheBytes: kv,
    peakCacheBytes: kv,
    keptFraction: 1,
  };
}

if (values.worker !== undefined) {
  const path = values.model as string;
  const r = values.worker.startsWith('llama.cpp ')
    ? await runLlamaCpp(path, values.worker.slice('llama.cpp '.length))
    : await runKvsieve(path, values.worker);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const path = benchModel(values.shape as ShapeName, values.quant as QuantName);
  const fileBytes = statSync(path).size;
  const results: Result[] = [];
  const runs = [
    ...values.llama
      .split(',')
      .filter(Boolean)
      .map((t) => `llama.cpp ${t}`),
    ...values.runs.split(',').filter(Boolean),
  ];
  for (const run of runs) {
    const args = ['--import', 'tsx', 'bench/memory.ts', '--worker', run, '--model', path];
    args.push('--tokens', String(tokens), '--threads', String(threads));
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`${run} failed`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result);
  }
  const lines = [
    `${values.shape} ${values.quant} (file ${formatBytes(fileBytes)}), ${tokens}-token prefill, ${threads} threads`,
    `${'run'.padEnd(22)} ${'kept'.padStart(6)} ${'KV end'.padStart(10)} ${'KV peak'.padStart(10)} ${'peak RSS'.padStart(10)} ${'RSS/file+KV'.padStart(11)} ${'time'.padStart(7)}`,
  ];
  for (const r of results) {
    const overhead = r.peakRss / (fileBytes + r.peakCacheBytes);
    lines.push(
      `${r.run.padEnd(22)} ${(r.keptFraction * 100).toFixed(1).padStart(5)}% ${formatBytes(r.cacheBytes).padStart(10)} ${formatBytes(r.peakCacheBytes).padStart(10)} ${formatBytes(r.peakRss).padStart(10)} ${overhead.toFixed(2).padStart(11)} ${r.seconds.toFixed(0).padStart(6)}s`,
    );
  }
  const peer = results.find((r) => r.run === 'llama.cpp q8_0');
  if (peer) {
    for (const r of results.filter((x) => x.run.startsWith('kvsieve'))) {
      lines.push(
        `${r.run}: peak RSS ${(r.peakRss / peer.peakRss).toFixed(2)}× llama.cpp's with its q8_0 full cache`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
