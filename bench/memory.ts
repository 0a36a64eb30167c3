// Memory under compression: a long prefill with and without a press, each in its own process, reporting
// peak RSS, the cache's bytes at the end and at its peak, and the kept fraction.
//
//   node --import tsx bench/memory.ts [--shape qwen2.5-0.5b] [--quant Q8_0] [--tokens 32768]
//                                     [--presses full,lagkv:8,streaming:8] [--threads 2]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/cli/progress.js';
import { benchModel, type QuantName, type ShapeName } from './models.js';

interface Result {
  press: string;
  seconds: number;
  peakRss: number;
  cacheBytes: number;
  peakCacheBytes: number;
  keptFraction: number;
  heapPeakLive: number;
  heapHighWater: number;
}

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    model: { type: 'string' },
    shape: { type: 'string', default: 'qwen2.5-0.5b' },
    quant: { type: 'string', default: 'Q8_0' },
    tokens: { type: 'string', default: '32768' },
    presses: { type: 'string', default: 'full,lagkv:8' },
    threads: { type: 'string', default: '2' },
  },
});
const tokens = Number(values.tokens);

function spec(s: string): { name: string; ratio?: number } {
  const [name, ratio] = s.split(':');
  return ratio === undefined ? { name } : { name, ratio: Number(ratio) };
}

if (values.worker !== undefined) {
  const { Model } = await import('../src/model/model.js');
  const model = await Model.load(values.model as string, { threads: Number(values.threads) });
  const ctx = model.createContext({
    press: spec(values.worker),
    contextSize: Math.max(tokens, model.config.contextLength),
  });
  const prompt = Array.from(
    { length: tokens },
    (_, i) => 300 + ((i * 7919) % (model.config.vocabSize - 300)),
  );
  const t0 = performance.now();
  let last = 0;
  await ctx.prefill(prompt, {
    onPrefill: (done) => {
      if (done - last >= 4096) {
        last = done;
        process.stderr.write(
          `  ${values.worker}: ${done}/${tokens} tokens, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
        );
      }
    },
  });
  const r: Result = {
    press: values.worker,
    seconds: (performance.now() - t0) / 1000,
    peakRss: process.resourceUsage().maxRSS * 1024,
    cacheBytes: ctx.cache.bytes,
    peakCacheBytes: ctx.peakCacheBytes,
    keptFraction: ctx.keptFraction,
    heapPeakLive: model.backends.reduce((s, b) => s + b.heap.peak, 0),
    heapHighWater: model.backends.reduce((s, b) => s + b.heap.highWaterMark, 0),
  };
  await model.close();
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const path = benchModel(values.shape as ShapeName, values.quant as QuantName);
  const results: Result[] = [];
  for (const p of values.presses.split(',')) {
    const args = [
      '--import',
      'tsx',
      'bench/memory.ts',
      '--worker',
      p,
      '--model',
      path,
      '--tokens',
      String(tokens),
      '--threads',
      values.threads,
    ];
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`${p} failed`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result);
  }
  const lines = [`${values.shape} ${values.quant}, ${tokens}-token prefill, ${values.threads} threads`];
  lines.push(
    `${'press'.padEnd(14)} ${'kept'.padStart(6)} ${'KV end'.padStart(10)} ${'KV peak'.padStart(10)} ${'peak RSS'.padStart(10)} ${'time'.padStart(7)}`,
  );
  for (const r of results) {
    lines.push(
      `${r.press.padEnd(14)} ${(r.keptFraction * 100).toFixed(1).padStart(5)}% ${formatBytes(r.cacheBytes).padStart(10)} ${formatBytes(r.peakCacheBytes).padStart(10)} ${formatBytes(r.peakRss).padStart(10)} ${r.seconds.toFixed(0).padStart(6)}s  heap live peak ${formatBytes(r.heapPeakLive)}, high water ${formatBytes(r.heapHighWater)}`,
    );
  }
  const full = results.find((r) => r.press === 'full');
  if (full) {
    for (const r of results.filter((x) => x !== full)) {
      const saved = full.cacheBytes - r.cacheBytes;
      const rssDrop = full.peakRss - r.peakRss;
      lines.push(
        `${r.press}: holds ${((r.cacheBytes / full.cacheBytes) * 100).toFixed(1)}% of the full cache's bytes; peak RSS ${formatBytes(rssDrop)} below full ` +
          `(KV bytes saved ${formatBytes(saved)}: ${rssDrop >= saved ? 'yes' : 'NO'}, at least the saving)`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
