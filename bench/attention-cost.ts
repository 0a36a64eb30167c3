// The cost of asking for attention: prefill time of the attention-scored presses against LagKV (attention-free)
// and the full cache, at the same ratio, on a mid-size random-weight model. H2O asks for the probability
// matrix of every forward call ('full, probs asked' is that request alone, nothing evicted); SnapKV, TOVA and
// LASER-KV score only a few queries (window, newest token, question probes) through LayerState.attend.
// Query-aware rows prefill the context with a question. Presses that evict while prefilling (LagKV, H2O,
// KeyDiff) also save attention work on later chunks, which the ratios include. KeyDiff is attention-free,
// Expected Attention keeps running query statistics, and KVzip runs the prompt through the model again (its
// reconstruction probes, with their attention probabilities): its row is the cost of that second pass.
//
//   node --import tsx bench/attention-cost.ts [--tokens 2048,4096] [--dim 256] [--layers 4] [--heads 8]
//                                             [--kv-heads 4] [--ratio 4] [--question 32] [--threads 2]
//                                             [--block 1024] [--repeat 1]
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GgmlType } from '../src/gguf/types.js';
import { Model } from '../src/model/model.js';
import { writeSyntheticModel } from '../src/model/synthetic.js';
import type { Press, PressSpec } from '../src/presses/index.js';
import { BENCH_DIR } from './models.js';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '2048,4096' },
    dim: { type: 'string', default: '256' },
    layers: { type: 'string', default: '4' },
    heads: { type: 'string', default: '8' },
    'kv-heads': { type: 'string', default: '4' },
    ratio: { type: 'string', default: '4' },
    question: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    block: { type: 'string', default: '1024' },
    repeat: { type: 'string', default: '1' },
  },
});
const lengths = values.tokens.split(',').map(Number);
const dim = Number(values.dim);
const nLayers = Number(values.layers);
const nHeads = Number(values.heads);
const nKvHeads = Number(values['kv-heads']);
const ratio = Number(values.ratio);
const threads = Number(values.threads);
const repeat = Number(values.repeat);
const block = Number(values.block);

mkdirSync(BENCH_DIR, { recursive: true });
const path = join(BENCH_DIR, `attention-cost-d${dim}-l${nLayers}-h${nHeads}-kv${nKvHeads}.gguf`);
if (!existsSync(path)) {
  process.stderr.write(`writing ${path} ...\n`);
  writeSyntheticModel(`${path}.tmp`, {
    arch: 'llama',
    dim,
    nLayers,
    nHeads,
    nKvHeads,
    ffnDim: 4 * dim,
    vocabSize: 4096,
    contextLength: Math.max(...lengths) + 1024,
    type: GgmlType.F32,
    tiedOutput: false,
    seed: 1,
  });
  renameSync(`${path}.tmp`, path);
}

interface Row {
  label: string;
  press?: Press | PressSpec;
  question: boolean;
}
/** Asks for the probability matrix of every forward call and keeps everything: the price of asking alone. */
const probsOnly = (): Press => ({
  name: 'full+probs',
  wantsProbs: true,
  observe: () => {},
  compress: () => null,
});
const ROWS: Row[] = [
  { label: 'full', question: false },
  { label: 'full, probs asked', press: probsOnly(), question: false },
  { label: 'lagkv', press: { name: 'lagkv', ratio }, question: false },
  { label: 'h2o', press: { name: 'h2o', ratio }, question: false },
  { label: 'tova', press: { name: 'tova', ratio }, question: false },
  { label: 'snapkv', press: { name: 'snapkv', ratio }, question: false },
  { label: 'keydiff', press: { name: 'keydiff', ratio }, question: false },
  { label: 'expected', press: { name: 'expected', ratio }, question: false },
  { label: 'adakv-expected', press: { name: 'adakv-expected', ratio }, question: false },
  { label: 'kvzip', press: { name: 'kvzip', ratio }, question: false },
  { label: 'full + question', question: true },
  { label: 'snapkv + question', press: { name: 'snapkv', ratio }, question: true },
  { label: 'adakv(snapkv) + question', press: { name: 'adakv', ratio }, question: true },
  {
    label: `laserkv bs=${block} + question`,
    press: { name: 'laserkv', ratio, blockSize: block },
    question: true,
  },
  { label: 'laserkv bs=4096 + question', press: { name: 'laserkv', ratio }, question: true },
];

const model = await Model.load(path, { threads });
const tokens = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + salt) % 4000));
// Warm-up: V8's optimising WASM tier and the JS scoring paths.
for (const r of ROWS) {
  const ctx = model.createContext({ press: r.press });
  await ctx.prefill(tokens(512, 1), r.question ? { question: tokens(8, 2) } : {});
  ctx.dispose();
}

console.log(
  `model: dim ${dim}, ${nLayers} layers, ${nHeads} heads / ${nKvHeads} KV heads, F32, ${threads} threads;` +
    ` ratio ${ratio}, question ${values.question} tokens, best of ${repeat}`,
);
for (const n of lengths) {
  const prompt = tokens(n, 3);
  const question = tokens(Number(values.question), 5);
  const times = new Map<string, { ms: number; cpu: number; kept: number }>();
  // Rounds over all rows (not all repeats of one row in a row), so that load on shared cores hits every row.
  for (let i = 0; i < repeat; i++) {
    for (const r of ROWS) {
      const ctx = model.createContext({ press: r.press });
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await ctx.prefill(prompt, r.question ? { question } : {});
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1000;
      const kept = ctx.cache.length(nLayers - 1, 0);
      ctx.dispose();
      const prev = times.get(r.label);
      times.set(r.label, { ms: Math.min(ms, prev?.ms ?? ms), cpu: Math.min(cpu, prev?.cpu ?? cpu), kept });
    }
  }
  const lag = times.get('lagkv') ?? { ms: Number.NaN, cpu: Number.NaN };
  const full = times.get('full') ?? { ms: Number.NaN, cpu: Number.NaN };
  const col = (x: string | number, w: number) => String(x).padStart(w);
  console.log(`\n${n} tokens (wall: best prefill time; cpu: best process CPU time, all threads)`);
  console.log(
    `${'press'.padEnd(30)}${col('wall ms', 9)}${col('/lagkv', 8)}${col('/full', 7)}${col('cpu ms', 9)}${col('/lagkv', 8)}${col('/full', 7)}${col('kept', 7)}`,
  );
  for (const [label, t] of times) {
    console.log(
      `${label.padEnd(30)}${col(t.ms.toFixed(0), 9)}${col((t.ms / lag.ms).toFixed(2), 8)}${col((t.ms / full.ms).toFixed(2), 7)}` +
        `${col(t.cpu.toFixed(0), 9)}${col((t.cpu / lag.cpu).toFixed(2), 8)}${col((t.cpu / full.cpu).toFixed(2), 7)}${col(t.kept, 7)}`,
    );
  }
}
await model.close();
