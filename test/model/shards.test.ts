// Models past 4 GiB spread their layers over several wasm32 memories. With a small per-memory budget a tiny
// model does the same, so the multi-memory path is checked here against the one-memory path on one file:
// identical logits and tokens (the same kernels run on the same bytes; only copies are added).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openGguf } from '../../src/gguf/reader.js';
import { GgmlType } from '../../src/gguf/types.js';
import { readConfig } from '../../src/model/config.js';
import { checkFitsInMemory, Model } from '../../src/model/model.js';
import { kvBytesPerLayer, planPlacement } from '../../src/model/placement.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

/** Weight bytes of each layer and of the untied output head, summed from the file's tensor table. */
function layerBytes(path: string): { layers: number[]; output: number; embedding: number } {
  const f = openGguf(path);
  try {
    const cfg = readConfig(f);
    const layers = Array.from({ length: cfg.nLayers }, (_, l) =>
      f.tensors.filter((t) => t.name.startsWith(`blk.${l}.`)).reduce((s, t) => s + t.bytes, 0),
    );
    const bytes = (n: string) => f.tensor(n)?.bytes ?? 0;
    return { layers, output: bytes('output.weight'), embedding: bytes('token_embd.weight') };
  } finally {
    f.close();
  }
}

describe('placement over several memories', () => {
  const path = join(dir, 'four-layers.gguf');
  let budget = 0;
  before(() => {
    // Head size 32: whole q8_0/q4_0 blocks.
    writeTinyModel(path, { nLayers: 4, contextLength: 1024, headDim: 32 });
  });

  test('a budget of two layers (with their KV room) pairs the layers up after the embedding', () => {
    const f = openGguf(path);
    try {
      const cfg = readConfig(f);
      const { layers, output, embedding } = layerBytes(path);
      const room = kvBytesPerLayer(cfg, cfg.contextLength);
      // All four layers weigh the same here; two of them plus the embedding do not fit, two alone do.
      budget = 2 * (layers[0] + room);
      assert.ok(embedding + layers[0] + room <= budget && embedding + 2 * (layers[0] + room) > budget);
      const p = planPlacement(f, cfg, budget);
      assert.deepEqual(p.layerShard, [0, 1, 1, 2]);
      assert.equal(p.embeddingShard, 0);
      // The output head fits beside layer 3.
      assert.ok(layers[3] + room + output <= budget);
      assert.equal(p.outputShard, 2);
      assert.deepEqual(p.shardWeightBytes, [
        embedding + layers[0],
        layers[1] + layers[2],
        layers[3] + output,
      ]);
      // Without a tight budget everything stays in one memory, as before.
      assert.deepEqual(planPlacement(f, cfg).layerShard, [0, 0, 0, 0]);
    } finally {
      f.close();
    }
  });

  for (const cacheType of [
    { k: 'f32', v: 'f32' },
    { k: 'q8_0', v: 'f16' },
  ] as const) {
    test(`a model over 3 memories gives the one-memory logits and tokens (${cacheType.k}/${cacheType.v} cache, LagKV)`, async () => {
      const one = await Model.load(path, { threads: 2 });
      const many = await Model.load(path, { threads: 2, shardBytes: budget });
      after(() => Promise.all([one.close(), many.close()]));
      assert.equal(one.backends.length, 1);
      assert.equal(many.backends.length, 3);
      const prompt = 'the quick brown fox jumps over the lazy dog '.repeat(6);
      const run = async (m: Model) => {
        const ctx = m.createContext({ press: { name: 'lagkv', ratio: 2, lag: 16, sink: 4 }, cacheType });
        const tokens: number[] = [];
        for await (const t of ctx.generate(prompt, { maxTokens: 24, temperature: 0 })) tokens.push(t.id);
        return { tokens, kept: ctx.cache.keptTokens, bytes: ctx.cache.bytes };
      };
      const a = await run(one);
      const b = await run(many);
      assert.deepEqual(b, a);
      // The cache really was compressed along the way, in every shard.
      assert.ok(a.kept < 4 * 2 * (prompt.length + 24));
      const ids = one.tokenizer.encode(prompt, { addSpecial: true }).slice(0, 200);
      const la = one.transformer.forward(
        ids,
        ids.map((_, i) => i),
        one.createContext({ cacheType }).cache,
        'all',
      );
      const lb = many.transformer.forward(
        ids,
        ids.map((_, i) => i),
        many.createContext({ cacheType }).cache,
        'all',
      );
      assert.deepEqual(lb, la);
    });
  }
});

describe('models that cannot fit in memory', () => {
  test('the check names the sizes', () => {
    const GiB = 2 ** 30;
    assert.throws(
      () => checkFitsInMemory('big.gguf', 40 * GiB, 20 * GiB, 24 * GiB),
      /big\.gguf: the model needs about 42\.1\d GiB of memory \(weights 40\.00 GiB\), but only 20\.00 GiB of this machine's 24\.00 GiB is available/,
    );
    checkFitsInMemory('small.gguf', GiB, 20 * GiB, 24 * GiB);
  });

  test('a 430 GB model (Llama-3.1-405B shape, Q8_0; a sparse file) fails at load, before allocating', async () => {
    const path = join(dir, 'huge.gguf');
    writeSyntheticModel(path, {
      arch: 'llama',
      dim: 16384,
      nLayers: 126,
      nHeads: 128,
      nKvHeads: 8,
      ffnDim: 53248,
      vocabSize: 128256,
      contextLength: 131072,
      type: GgmlType.Q8_0,
      tiedOutput: false,
      seed: 1,
      weights: 'zeros',
    });
    const rss = process.memoryUsage().rss;
    await assert.rejects(
      Model.load(path),
      /the model needs about 4\d\d\.\d\d GiB of memory \(weights 4\d\d\.\d\d GiB\), but only/,
    );
    // Nothing near the model's size was allocated on the way.
    assert.ok(process.memoryUsage().rss - rss < 512 * 2 ** 20);
  });
});
