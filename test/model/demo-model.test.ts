// The embedded model (models/kvsieve-demo.gguf) really retrieves: held-out passkeys and needles at 1k tokens,
// through the same runner as `kvsieve bench`, at full cache and under LagKV 4×. Thresholds sit under the
// model card's measured numbers (n = 20: passkey 100%, niah_single_1 85%) by the noise of 8 samples.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runBench } from '../../src/bench/runner/run.js';
import { Model } from '../../src/model/model.js';
import { defaultModelPath } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';

let model: Model;
before(async () => {
  model = await Model.load(defaultModelPath, { threads: 2 });
});
after(() => model.close());

async function accuracy(task: string, press: string, samples: number): Promise<number> {
  const { records } = await runBench(model, {
    tasks: [task],
    presses: [press],
    ratios: [4],
    lengths: [1024],
    samples,
    modes: ['agnostic'],
    outDir: tempDir(),
  });
  assert.equal(records.length, samples);
  return records.reduce((s, r) => s + r.score, 0) / samples;
}

test('the embedded model is the trained Llama the model card describes', () => {
  const c = model.config;
  assert.deepEqual(
    [c.arch, c.nLayers, c.nHeads, c.nKvHeads, c.dim, c.contextLength, model.tokenizer.vocabSize],
    ['llama', 4, 8, 2, 256, 4096, 2048],
  );
});

test('it finds 5-digit passkeys at 1k tokens, with a full cache and with LagKV 4×', async () => {
  assert.ok((await accuracy('passkey', 'full', 8)) >= 7 / 8);
  assert.ok((await accuracy('passkey', 'lagkv', 8)) >= 7 / 8);
});

test('it finds RULER single needles at 1k tokens', async () => {
  assert.ok((await accuracy('niah_single_1', 'full', 8)) >= 5 / 8);
});
