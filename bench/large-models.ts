// Models past 4 GiB: random-weight GGUFs of the Llama-3.1-8B and Qwen2.5-7B shapes at Q4_K_M load (over
// several wasm32 memories) and generate; the same greedy steps in llama.cpp (node-llama-cpp) on the same file
// for agreement and speed. Each engine runs in its own process, so peak RSS is its own.
//
//   node --import tsx bench/large-models.ts [--shapes llama3.1-8b,qwen2.5-7b] [--prompt 64] [--gen 16] [--threads 2]
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/cli/progress.js';
import { openLlamaCpp } from './llama-cpp.js';
import { benchModel, benchPrompt, fileVocabSize, type ShapeName } from './models.js';

interface Result {
  engine: string;
  loadS: number;
  shards?: string[];
  tokens: number[];
  prefillTokS: number;
  decodeTokS: number;
  peakRss: number;
}

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    model: { type: 'string' },
    shapes: { type: 'string', default: 'llama3.1-8b,qwen2.5-7b' },
    prompt: { type: 'string', default: '64' },
    gen: { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
  },
});
const promptLen = Number(values.prompt);
const genLen = Number(values.gen);
const threads = Number(values.threads);

async function runKvsieve(path: string): Promise<Result> {
  const { Model } = await import('../src/model/model.js');
  const t0 = performance.now();
  const model = await Model.load(path, { threads });
  const loadS = (performance.now() - t0) / 1000;
  const ctx = model.createContext();
  const t1 = performance.now();
  let logits = ctx.evaluate(benchPrompt(promptLen, model.config.vocabSize));
  const t2 = performance.now();
  const tokens: number[] = [];
  for (let i = 0; i < genLen; i++) {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    tokens.push(best);
    if (i + 1 < genLen) logits = ctx.evaluate([best]);
  }
  const t3 = performance.now();
  const shards = model.backends.map((b) => formatBytes(b.heap.capacity));
  await model.close();
  return {
    engine: 'kvsieve',
    loadS,
    shards,
    tokens,
    prefillTokS: promptLen / ((t2 - t1) / 1000),
    decodeTokS: (genLen - 1) / ((t3 - t2) / 1000),
    peakRss: process.resourceUsage().maxRSS * 1024,
  };
}

async function runLlamaCpp(path: string): Promise<Result> {
  const { model, context, loadS } = await openLlamaCpp(path, {
    contextSize: promptLen + genLen + 64,
    threads,
  });
  const seq = context.getSequence();
  type Tok = Parameters<typeof model.detokenize>[0][number];
  const prompt = benchPrompt(promptLen, fileVocabSize(path)) as Tok[];
  const t1 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
  const t2 = performance.now();
  const tokens: number[] = [];
  for await (const t of seq.evaluate([prompt[prompt.length - 1]], { temperature: 0 })) {
    tokens.push(Number(t));
    if (tokens.length >= genLen) break;
  }
  const t3 = performance.now();
  await context.dispose();
  await model.dispose();
  return {
    engine: 'llama.cpp',
    loadS,
    tokens,
    prefillTokS: (promptLen - 1) / ((t2 - t1) / 1000),
    decodeTokS: genLen / ((t3 - t2) / 1000),
    peakRss: process.resourceUsage().maxRSS * 1024,
  };
}

if (values.worker) {
  const path = values.model as string;
  const r = values.worker === 'kvsieve' ? await runKvsieve(path) : await runLlamaCpp(path);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const lines: string[] = [`${promptLen}-token prompt, ${genLen} greedy tokens, ${threads} threads`];
  for (const shape of values.shapes.split(',') as ShapeName[]) {
    const path = benchModel(shape, 'Q4_K_M');
    const size = statSync(path).size;
    const run = (engine: string): Result => {
      const args = ['--import', 'tsx', 'bench/large-models.ts', '--worker', engine, '--model', path];
      args.push('--prompt', String(promptLen), '--gen', String(genLen), '--threads', String(threads));
      const r = spawnSync(process.execPath, args, {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 24,
      });
      if (r.status !== 0) throw new Error(`${engine} failed on ${path}`);
      return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result;
    };
    const ours = run('kvsieve');
    const theirs = run('llama.cpp');
    let agree = 0;
    while (agree < genLen && ours.tokens[agree] === theirs.tokens[agree]) agree++;
    lines.push(`${shape} Q4_K_M, file ${formatBytes(size)}`);
    for (const r of [ours, theirs]) {
      lines.push(
        `  ${r.engine.padEnd(10)} load ${r.loadS.toFixed(1).padStart(5)} s  prefill ${r.prefillTokS.toFixed(2).padStart(6)} tok/s  decode ${r.decodeTokS.toFixed(2).padStart(5)} tok/s  peak RSS ${formatBytes(r.peakRss).padStart(9)}${r.shards ? `  memories ${r.shards.join(' + ')}` : ''}`,
      );
    }
    lines.push(
      `  greedy tokens: the first ${agree} of ${genLen} agree; kvsieve ${ours.tokens.join(' ')}; llama.cpp ${theirs.tokens.join(' ')}`,
    );
    process.stderr.write(`${lines.slice(-4).join('\n')}\n`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
