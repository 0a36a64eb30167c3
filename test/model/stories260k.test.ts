// The real trained stories260K checkpoint, converted by our converter, must reproduce llama2.c's greedy text.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertLlama2c } from '../../src/convert/llama2c.js';
import { Model } from '../../src/model/model.js';
import { hasShared, SKIP_SHARED, sharedPath } from '../helpers/shared.js';
import { tempDir } from '../helpers/tmp.js';

// From ../shared/README.md: greedy decoding from BOS.
const REFERENCE =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball';

for (const backend of ['ref', 'wasm'] as const) {
  test(`stories260K greedy from BOS reproduces the reference text (${backend})`, {
    skip: !hasShared && SKIP_SHARED,
  }, async () => {
    const out = join(tempDir(), 'stories260K.gguf');
    const h = convertLlama2c(sharedPath('models/stories260K.bin'), sharedPath('models/tok512.bin'), out);
    assert.deepEqual([h.dim, h.nLayers, h.nHeads, h.nKvHeads, h.vocabSize], [64, 5, 8, 4, 512]);
    const model = await Model.load(out, { backend, threads: 2 });
    try {
      const ctx = model.createContext();
      const bos = model.tokenizer.bos;
      assert.equal(bos, 1);
      const text = await ctx.complete([1], { maxTokens: 64 });
      assert.ok(text.trimStart().startsWith(REFERENCE), `got: ${JSON.stringify(text)}`);
    } finally {
      await model.close();
    }
  });
}
