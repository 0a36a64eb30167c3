// The generation context on a tiny model: streaming, aborts, stop strings, chunked prefill = one-shot prefill.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Model } from '../../src/model/model.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const path = join(tempDir(), 'ctx.gguf');
writeTinyModel(path, { arch: 'llama', contextLength: 1024, seed: 11 });
const PROMPT = Array.from({ length: 300 }, (_, i) => 3 + ((i * 13) % 290));

test('chunked prefill gives the same logits as smaller and larger chunks', async () => {
  const logits: Float32Array[] = [];
  for (const batchSize of [7, 64, 512]) {
    const model = await Model.load(path, { batchSize, threads: 1 });
    logits.push(model.createContext().evaluate(PROMPT));
    await model.close();
  }
  for (const l of logits.slice(1)) {
    let max = 0;
    for (let i = 0; i < l.length; i++) max = Math.max(max, Math.abs(l[i] - logits[0][i]));
    assert.ok(max < 1e-3, `max |Δ| ${max}`);
  }
});

test('an AbortSignal stops generation between tokens; the token stream can be resumed on the same context', async () => {
  const model = await Model.load(path, { threads: 1 });
  try {
    const ctx = model.createContext();
    const ac = new AbortController();
    const got: number[] = [];
    for await (const t of ctx.generate(PROMPT, { maxTokens: 50, signal: ac.signal })) {
      got.push(t.id);
      if (got.length === 5) ac.abort();
    }
    assert.equal(got.length, 5);
    assert.equal(ctx.finishReason, 'abort');
    // An already-aborted signal stops before the prefill does any work.
    const idle = model.createContext();
    const done = new AbortController();
    done.abort();
    for await (const _ of idle.generate(PROMPT, { signal: done.signal })) assert.fail('no token expected');
    assert.equal(idle.tokens.length, 0);
    // Greedy continuation is the same whether or not it was interrupted.
    const whole = model.createContext();
    const all: number[] = [];
    for await (const t of whole.generate(PROMPT, { maxTokens: 8 })) all.push(t.id);
    assert.deepEqual(got, all.slice(0, 5));
  } finally {
    await model.close();
  }
});

test('max tokens, and stop strings end generation with the right finish reason', async () => {
  const model = await Model.load(path, { threads: 1 });
  try {
    const ctx = model.createContext();
    const text = await ctx.complete(PROMPT, { maxTokens: 12 });
    assert.equal(ctx.finishReason, 'length');
    assert.ok(text.length > 0);
    // Stop at a piece of text we know the model produces: its own output's middle.
    const stopAt = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
    const again = model.createContext();
    const cut = await again.complete(PROMPT, { maxTokens: 12, stop: [stopAt] });
    assert.equal(again.finishReason, 'stop');
    assert.equal(cut, text.slice(0, text.indexOf(stopAt)));
  } finally {
    await model.close();
  }
});

test('evaluate into a given array: the same logits as a fresh one, in that array; too small is an error', async () => {
  const model = await Model.load(path, { threads: 1 });
  try {
    const prompt = Array.from({ length: 20 }, (_, i) => 3 + ((i * 13) % 200));
    const fresh = model.createContext();
    const reused = model.createContext();
    fresh.evaluate(prompt);
    reused.evaluate(prompt);
    const into = new Float32Array(model.config.vocabSize + 5).fill(Number.NaN);
    for (const id of [7, 9, 11]) {
      const want = fresh.evaluate([id], 'decode');
      const got = reused.evaluate([id], 'decode', { into });
      assert.equal(got.buffer, into.buffer);
      assert.equal(got.length, model.config.vocabSize);
      assert.deepEqual(Array.from(got), Array.from(want));
    }
    // Refused before anything is fed: the context stays where it was.
    const before = reused.cache.length(0, 0);
    assert.throws(
      () => reused.evaluate([3], 'decode', { into: new Float32Array(10) }),
      /into must be a Float32Array of at least \d+ floats/,
    );
    assert.equal(reused.cache.length(0, 0), before);
  } finally {
    await model.close();
  }
});
