// How often kvsieve's greedy tokens agree with llama.cpp's (node-llama-cpp) on the same quantised file.
// F32/F16 agreement is asserted exactly by the test suite; quantised types differ slightly by design
// (activation quantisation, summation order), so here it is measured and reported.
//
//   node --import tsx bench/agreement.ts [--steps 64]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GgmlType, ggmlTypeName } from '../src/gguf/types.js';
import { Model } from '../src/model/model.js';
import { type SyntheticModelSpec, writeSyntheticModel } from '../src/model/synthetic.js';
import { llamaCppGreedy } from '../test/helpers/llamacpp.js';
import { BENCH_DIR } from './models.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '64' } } });
const steps = Number(values.steps);
const SHAPES: Record<string, Omit<SyntheticModelSpec, 'type' | 'seed'>> = {
  llama: {
    arch: 'llama',
    dim: 256,
    nLayers: 4,
    nHeads: 8,
    nKvHeads: 2,
    ffnDim: 768,
    vocabSize: 1024,
    contextLength: 512,
    tiedOutput: false,
  },
  qwen2: {
    arch: 'qwen2',
    dim: 256,
    nLayers: 4,
    nHeads: 8,
    nKvHeads: 2,
    ffnDim: 768,
    vocabSize: 1024,
    contextLength: 512,
    tiedOutput: false,
    ropeBase: 1e6,
  },
  qwen3: {
    arch: 'qwen3',
    dim: 256,
    nLayers: 4,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 128,
    ffnDim: 768,
    vocabSize: 1024,
    contextLength: 512,
    tiedOutput: false,
    ropeBase: 1e6,
  },
};
const TYPES = [
  GgmlType.Q8_0,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
];
const PROMPT = Array.from({ length: 24 }, (_, i) => 300 + ((i * 37) % 700));

const argmax = (l: Float32Array) => l.reduce((b, v, j) => (v > l[b] ? j : b), 0);

/** Our greedy tokens, and our argmax when fed llama.cpp's tokens (teacher forcing). */
async function ours(path: string, theirs: number[]): Promise<{ free: number[]; forced: number[] }> {
  const model = await Model.load(path, { threads: 2 });
  const run = (feed: (i: number, best: number) => number) => {
    const ctx = model.createContext();
    let logits = ctx.evaluate(PROMPT);
    const out: number[] = [];
    // llama.cpp's stream ends early at an end-of-generation token; compare over what it produced.
    for (let i = 0; i < theirs.length; i++) {
      out.push(argmax(logits));
      logits = ctx.evaluate([feed(i, out[i])]);
    }
    return out;
  };
  const free = run((_, best) => best);
  const forced = run((i) => theirs[i]);
  await model.close();
  return { free, forced };
}

const lines = [
  `greedy agreement with llama.cpp over ${steps} tokens: identical prefix (tokens before the first divergence)`,
  "and top-1 agreement when both read llama.cpp's tokens (teacher forcing)",
];
for (const [name, shape] of Object.entries(SHAPES)) {
  for (const type of TYPES) {
    const path = join(BENCH_DIR, `agree-${name}-${ggmlTypeName(type)}.gguf`);
    writeSyntheticModel(path, { ...shape, type, seed: 21 });
    const theirs = await llamaCppGreedy(path, PROMPT, steps);
    const { free, forced } = await ours(path, theirs);
    let prefix = 0;
    const n = theirs.length;
    while (prefix < n && free[prefix] === theirs[prefix]) prefix++;
    const top1 = forced.filter((t, i) => t === theirs[i]).length;
    lines.push(
      `${name.padEnd(6)} ${ggmlTypeName(type).padEnd(5)} identical prefix ${String(prefix).padStart(3)}/${n}   top-1 ${String(top1).padStart(3)}/${n}`,
    );
    process.stderr.write(`${lines[lines.length - 1]}\n`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
