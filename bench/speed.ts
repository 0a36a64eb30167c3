// Prefill and decode speed and peak memory: kvsieve (presses × cache types) vs llama.cpp (node-llama-cpp) at
// its best settings (flash attention on; f16 and q8_0 caches), on the same random-weight GGUF, the same
// prompt and threads. Every run is its own process, so peak RSS is its own; engines alternate per length.
// Ratios are against the better llama.cpp run of the same length.
//
//   node --import tsx bench/speed.ts [--shapes smollm2-135m,qwen2.5-0.5b] [--quants Q8_0,Q4_K_M]
//        [--lengths 512,8k] [--presses full,lagkv:8] [--cache-types f16,q8_0] [--gen 32] [--threads 2]
//        [--engines kvsieve,llama.cpp] [--profile] [--repack]
//
// --repack loads kvsieve's models with Q5_0 weights re-encoded as Q8_0 (Model.load's `repack`).
// --profile adds, per kvsieve run, where prefill time went: matmuls by weight type, attention, the cache's
// appends, the press, and the rest (element-wise work in TypeScript).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { KvTypeName } from '../src/cache/cache-type.js';
import { openGguf } from '../src/gguf/reader.js';
import { ggmlTypeName } from '../src/gguf/types.js';
import { readConfig } from '../src/model/config.js';
import { openLlamaCpp } from './llama-cpp.js';
import { benchModel, benchPrompt, fileVocabSize, type QuantName, type ShapeName } from './models.js';

interface Result {
  engine: string;
  prefillS: number;
  decodeTokS: number;
  peakRssMiB: number;
  /** KV cache bytes at the end (llama.cpp: the whole context's cache, allocated up front). */
  kvMiB: number;
  kept?: number;
  profile?: Record<string, number>;
  decodeProfile?: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    model: { type: 'string' },
    shapes: { type: 'string', default: 'smollm2-135m' },
    quants: { type: 'string', default: 'Q8_0' },
    lengths: { type: 'string', default: '512,8k' },
    presses: { type: 'string', default: 'full,lagkv:8' },
    'cache-types': { type: 'string', default: 'f16' },
    'llama-cache-types': { type: 'string', default: 'f16,q8_0' },
    gen: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    engines: { type: 'string', default: 'kvsieve,llama.cpp' },
    length: { type: 'string' },
    press: { type: 'string' },
    'cache-type': { type: 'string' },
    profile: { type: 'boolean', default: false },
    repack: { type: 'boolean', default: false },
  },
});
const genLen = Number(values.gen);
const threads = Number(values.threads);
const list = (s: string) => s.split(',').filter((x) => x.length > 0);
const tokensOf = (s: string) => Math.round(Number(s.replace(/k$/i, '')) * (/k$/i.test(s) ? 1024 : 1));

function argmax(a: Float32Array): number {
  let best = 0;
  for (let j = 1; j < a.length; j++) if (a[j] > a[best]) best = j;
  return best;
}

/** Wraps a method so that its wall time accumulates under a key chosen from its arguments. */
function timed<T extends object, K extends keyof T>(
  obj: T,
  name: K,
  into: Record<string, number>,
  key: (...args: never[]) => string,
): void {
  const f = obj[name] as unknown as (...a: never[]) => unknown;
  (obj as Record<K, unknown>)[name] = (...args: never[]) => {
    const t = performance.now();
    try {
      return f.apply(obj, args);
    } finally {
      const k = key(...args);
      into[k] = (into[k] ?? 0) + performance.now() - t;
    }
  };
}

async function runKvsieve(path: string, n: number, pressArg: string, cacheType: string): Promise<Result> {
  const { Model } = await import('../src/model/model.js');
  const model = await Model.load(path, { threads, batchSize: 256, repack: values.repack });
  const prompt = benchPrompt(n, model.config.vocabSize);
  const [name, ratio] = pressArg.split(':');
  const press = name === 'full' ? undefined : { name, ratio: Number(ratio ?? 4) };
  const type = cacheType as KvTypeName;
  const opts = { contextSize: n + genLen + 8, cacheType: { k: type, v: type } };
  // Warm-up so V8's optimising WASM tier is in place, as llama.cpp's code is compiled ahead of time.
  model.createContext(opts).evaluate(prompt.slice(0, 300));
  const ctx = model.createContext({ ...opts, press });
  const profile: Record<string, number> = {};
  if (values.profile) {
    for (const b of model.backends) {
      timed(b, 'matmul', profile, (...a: never[]) => {
        const w = a[1] as { type: number };
        return `matmul ${ggmlTypeName(w.type)}`;
      });
      timed(b, 'attention', profile, () => 'attention');
      timed(b, 'swiglu', profile, () => 'swiglu');
    }
    timed(ctx.cache, 'appendAt', profile, () => 'cache append');
    if (ctx.press) timed(ctx.press, 'compress', profile, () => 'press');
    if (ctx.press?.observe) timed(ctx.press, 'observe', profile, () => 'press');
  }
  const t0 = performance.now();
  let logits = ctx.evaluate(prompt);
  const t1 = performance.now();
  const prefillProfile = { ...profile };
  if (values.profile) {
    const accounted = Object.values(profile).reduce((s, x) => s + x, 0);
    prefillProfile.other = t1 - t0 - accounted;
  }
  const t2 = performance.now();
  // As the library's generate loop: each step's logits into one array.
  const into = new Float32Array(model.config.vocabSize);
  for (let i = 0; i < genLen; i++) logits = ctx.evaluate([argmax(logits)], 'decode', { into });
  const t3 = performance.now();
  // Decode's share: what accumulated since the prefill.
  const decodeProfile: Record<string, number> = {};
  for (const [k, v] of Object.entries(profile)) decodeProfile[k] = v - (prefillProfile[k] ?? 0);
  decodeProfile.other = t3 - t2 - Object.values(decodeProfile).reduce((s, x) => s + x, 0);
  const kept = ctx.keptFraction;
  const kvBytes = ctx.cache.bytes;
  await model.close();
  return {
    ...result(`kvsieve ${pressArg} ${cacheType}${values.repack ? ' repack' : ''}`, t0, t1, t2, t3, kvBytes),
    kept,
    profile: values.profile ? prefillProfile : undefined,
    decodeProfile: values.profile ? decodeProfile : undefined,
  };
}

async function runLlamaCpp(path: string, n: number, cacheType: string): Promise<Result> {
  const { model, context } = await openLlamaCpp(path, {
    contextSize: n + genLen + 64,
    threads,
    batchSize: 512,
    cacheType: cacheType as 'f16' | 'q8_0',
  });
  type Tok = Parameters<typeof model.detokenize>[0][number];
  const toks = benchPrompt(n, fileVocabSize(path)) as Tok[];
  const seq = context.getSequence();
  await seq.evaluateWithoutGeneratingNewTokens(toks.slice(0, 300));
  await seq.clearHistory();
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(toks.slice(0, -1));
  const t1 = performance.now();
  let produced = 0;
  for await (const _ of seq.evaluate([toks[toks.length - 1]], { temperature: 0 })) {
    if (++produced >= genLen) break;
  }
  const t3 = performance.now();
  await context.dispose();
  await model.dispose();
  // llama.cpp allocates the whole context's cache up front: n_ctx × layers × 2 × KV heads × head size.
  const f = openGguf(path);
  const cfg = readConfig(f);
  f.close();
  const kvBytes =
    (n + genLen + 64) * cfg.nLayers * 2 * cfg.nKvHeads * cfg.headDim * (cacheType === 'f16' ? 2 : 34 / 32);
  // The last prompt token is fed with the first decode step; the decode rate counts that step as prefill.
  return result(`llama.cpp fa ${cacheType}`, t0, t1, t1, t3, kvBytes);
}

function result(engine: string, t0: number, t1: number, t2: number, t3: number, kvBytes: number): Result {
  return {
    engine,
    prefillS: (t1 - t0) / 1000,
    decodeTokS: genLen / ((t3 - t2) / 1000),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    kvMiB: kvBytes / 2 ** 20,
  };
}

if (values.worker) {
  const path = values.model as string;
  const n = Number(values.length);
  const r =
    values.worker === 'kvsieve'
      ? await runKvsieve(path, n, values.press as string, values['cache-type'] as string)
      : await runLlamaCpp(path, n, values['cache-type'] as string);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    process.stderr.write(`${s}\n`);
  };
  const f1 = (x: number, w = 8) => x.toFixed(1).padStart(w);
  const f2 = (x: number) => `${x.toFixed(2)}×`.padStart(7);
  const engines = list(values.engines);
  say(
    `${genLen} generated tokens, ${threads} threads; prefill in seconds, decode in tokens/s, peak RSS in MiB`,
  );
  say(
    `${'model'.padEnd(20)} ${'tokens'.padStart(6)} ${'engine'.padEnd(26)} ${'prefill'.padStart(8)} ${'decode'.padStart(8)} ${'RSS'.padStart(6)} ${'kept'.padStart(6)} ${'prefill×'.padStart(8)} ${'decode×'.padStart(7)}`,
  );
  for (const shape of list(values.shapes) as ShapeName[]) {
    for (const quant of list(values.quants) as QuantName[]) {
      const path = benchModel(shape, quant);
      for (const len of list(values.lengths)) {
        const n = tokensOf(len);
        const run = (engine: string, extra: string[]): Result => {
          const args = [
            '--import',
            'tsx',
            'bench/speed.ts',
            '--worker',
            engine,
            '--model',
            path,
            '--length',
            String(n),
          ];
          args.push('--gen', String(genLen), '--threads', String(threads), ...extra);
          if (values.profile) args.push('--profile');
          if (values.repack) args.push('--repack');
          const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
          if (r.status !== 0) throw new Error(`${engine} failed on ${path}:\n${r.stderr}`);
          return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result;
        };
        const peers = engines.includes('llama.cpp')
          ? list(values['llama-cache-types']).map((c) => run('llama.cpp', ['--cache-type', c]))
          : [];
        const best = {
          prefillS: Math.min(...peers.map((p) => p.prefillS)),
          decodeTokS: Math.max(...peers.map((p) => p.decodeTokS)),
        };
        const rows: Result[] = [...peers];
        if (engines.includes('kvsieve')) {
          for (const press of list(values.presses)) {
            for (const c of list(values['cache-types']))
              rows.push(run('kvsieve', ['--press', press, '--cache-type', c]));
          }
        }
        for (const r of rows) {
          const ratios =
            peers.length > 0 ? `${f2(best.prefillS / r.prefillS)} ${f2(r.decodeTokS / best.decodeTokS)}` : '';
          const kept = r.kept === undefined ? '' : `${(100 * r.kept).toFixed(1)}%`;
          say(
            `${`${shape} ${quant}`.padEnd(20)} ${String(n).padStart(6)} ${r.engine.padEnd(26)} ${f1(r.prefillS)} ${f1(r.decodeTokS)} ${f1(r.peakRssMiB, 6)} ${f1(r.kvMiB, 6)} ${kept.padStart(6)} ${ratios}`,
          );
          for (const [phase, profile] of [
            ['prefill', r.profile],
            ['decode', r.decodeProfile],
          ] as const) {
            if (!profile) continue;
            const total = Object.values(profile).reduce((s, x) => s + x, 0);
            const parts = Object.entries(profile).sort((a, b) => b[1] - a[1]);
            say(
              `${''.padEnd(28)}${phase}: ${parts.map(([k, v]) => `${k} ${((100 * v) / total).toFixed(1)}%`).join(', ')}`,
            );
          }
        }
      }
    }
  }
  process.stdout.write(`\n${out.join('\n')}\n`);
}
