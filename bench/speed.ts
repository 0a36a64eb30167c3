// Prefill and decode speed and peak memory: kvsieve vs llama.cpp (node-llama-cpp, same file, same threads).
// Each engine runs in its own process so its peak RSS is its own.
//
//   node --import tsx bench/speed.ts [--shapes smollm2-135m,qwen2.5-0.5b] [--quants Q8_0,Q4_K_M]
//                                    [--prompt 512] [--gen 64] [--threads 2]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { openGguf } from '../src/gguf/reader.js';
import { benchModel, QUANT_NAMES, type QuantName, SHAPE_NAMES, type ShapeName } from './models.js';

interface Result {
  engine: string;
  prefillTokS: number;
  decodeTokS: number;
  peakRssMiB: number;
}

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    model: { type: 'string' },
    shapes: { type: 'string', default: SHAPE_NAMES.join(',') },
    quants: { type: 'string', default: QUANT_NAMES.join(',') },
    prompt: { type: 'string', default: '512' },
    gen: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
  },
});
const promptLen = Number(values.prompt);
const genLen = Number(values.gen);
const threads = Number(values.threads);

function promptTokens(vocab: number): number[] {
  // Ordinary (non-special) ids spread over the vocabulary; the same for both engines.
  return Array.from({ length: promptLen }, (_, i) => 300 + ((i * 7919) % (vocab - 300)));
}

async function runKvsieve(path: string): Promise<Result> {
  const { Model } = await import('../src/model/model.js');
  const model = await Model.load(path, { threads, batchSize: 256 });
  const prompt = promptTokens(model.config.vocabSize);
  // Warm-up so V8's optimising WASM tier is in place, as llama.cpp's code is compiled ahead of time.
  model.createContext().evaluate(prompt.slice(0, 64));
  const ctx = model.createContext();
  const t0 = performance.now();
  let logits = ctx.evaluate(prompt);
  const t1 = performance.now();
  for (let i = 0; i < genLen; i++) {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    logits = ctx.evaluate([best]);
  }
  const t2 = performance.now();
  await model.close();
  return result('kvsieve', t0, t1, t2);
}

async function runLlamaCpp(path: string): Promise<Result> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: promptLen + genLen + 64,
    threads,
    batchSize: 512,
  });
  type Tok = Parameters<typeof model.detokenize>[0][number];
  const toks = promptTokens(vocabSize(path)) as Tok[];
  const warm = context.getSequence();
  await warm.evaluateWithoutGeneratingNewTokens(toks.slice(0, 64));
  await warm.clearHistory();
  const seq = warm;
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(toks);
  const t1 = performance.now();
  let n = 0;
  for await (const _ of seq.evaluate([toks[toks.length - 1]], { temperature: 0 })) {
    if (++n >= genLen) break;
  }
  const t2 = performance.now();
  await context.dispose();
  await model.dispose();
  return result('llama.cpp', t0, t1, t2);
}

function vocabSize(path: string): number {
  const f = openGguf(path);
  const n = (f.metadata.get('tokenizer.ggml.tokens') as string[]).length;
  f.close();
  return n;
}

function result(engine: string, t0: number, t1: number, t2: number): Result {
  return {
    engine,
    prefillTokS: promptLen / ((t1 - t0) / 1000),
    decodeTokS: genLen / ((t2 - t1) / 1000),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

if (values.worker) {
  const path = values.model as string;
  const r = values.worker === 'kvsieve' ? await runKvsieve(path) : await runLlamaCpp(path);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const rows: string[] = [];
  const fmt = (x: number) => x.toFixed(1).padStart(8);
  for (const shape of values.shapes.split(',') as ShapeName[]) {
    for (const quant of values.quants.split(',') as QuantName[]) {
      const path = benchModel(shape, quant);
      const run = (engine: string): Result => {
        const args = ['--import', 'tsx', 'bench/speed.ts', '--worker', engine, '--model', path];
        args.push('--prompt', String(promptLen), '--gen', String(genLen), '--threads', String(threads));
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (r.status !== 0) throw new Error(`${engine} failed on ${path}:\n${r.stderr}`);
        return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result;
      };
      const ours = run('kvsieve');
      const theirs = run('llama.cpp');
      for (const r of [ours, theirs]) {
        rows.push(
          `${`${shape} ${quant}`.padEnd(22)} ${r.engine.padEnd(10)} ${fmt(r.prefillTokS)} ${fmt(r.decodeTokS)} ${fmt(r.peakRssMiB)}`,
        );
      }
      rows.push(
        `${''.padEnd(22)} ${'ratio'.padEnd(10)} ${fmt(ours.prefillTokS / theirs.prefillTokS)}x${fmt(ours.decodeTokS / theirs.decodeTokS)}x${fmt(ours.peakRssMiB / theirs.peakRssMiB)}x`,
      );
      process.stderr.write(`${rows.slice(-3).join('\n')}\n`);
    }
  }
  const header = `${'model'.padEnd(22)} ${'engine'.padEnd(10)} ${'prefill'.padStart(8)} ${'decode'.padStart(8)} ${'peakRSS'.padStart(8)}`;
  process.stdout.write(
    `\nprompt ${promptLen} tokens, ${genLen} generated, ${threads} threads (tokens/s; MiB)\n${header}\n${rows.join('\n')}\n`,
  );
}
