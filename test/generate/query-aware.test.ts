// Query-aware compression in the library: the README recipe (prefill the context with the question, then
// generate from the question) works for every press; `compress: false` keeps tokens whole; decode-time
// eviction stays on unless turned off; splitAtQuestion cuts a rendered prompt where its question starts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { splitAtQuestion } from '../../src/generate/question.js';
import { Model } from '../../src/model/model.js';
import { pressNames } from '../../src/presses/index.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const path = join(tempDir(), 'qa.gguf');
writeTinyModel(path, { arch: 'llama', contextLength: 2048, seed: 11 });
const CONTEXT = Array.from({ length: 700 }, (_, i) => 3 + ((i * 13) % 290));
const QUESTION = [40, 41, 42, 43, 44, 45, 46, 47];

async function withModel(f: (model: Model) => Promise<void>): Promise<void> {
  const model = await Model.load(path, { threads: 2 });
  try {
    await f(model);
  } finally {
    await model.close();
  }
}

/** Positions held by (layer, head) at or after `from`. */
const heldFrom = (ctx: { cache: { read(l: number, h: number): { positions: Int32Array } } }, from: number) =>
  [0, 1].flatMap((l) =>
    [0, 1].map((h) => Array.from(ctx.cache.read(l, h).positions).filter((p) => p >= from)),
  );

test('the README recipe works for every press: prefill(context, { question }), then generate(question)', () =>
  withModel(async (model) => {
    for (const name of pressNames()) {
      // L2KV leaves layers 0 and 1 alone by default: the tiny model has only those.
      const extra = name === 'l2kv' ? { skipLayers: [] } : {};
      const ctx = model.createContext({ press: name === 'full' ? undefined : { name, ratio: 4, ...extra } });
      await ctx.prefill(CONTEXT, { question: QUESTION });
      const kept = ctx.keptFraction;
      if (name !== 'full') assert.ok(kept < 0.9, `${name} compressed the context: ${kept}`);
      const out = await ctx.complete(QUESTION, { maxTokens: 6, temperature: 0 });
      assert.ok(ctx.tokens.length >= CONTEXT.length + QUESTION.length, name);
      assert.equal(typeof out, 'string');
      ctx.dispose();
    }
  }));

test('compress: false — the question and the answer stay whole after the context’s compression', () =>
  withModel(async (model) => {
    for (const name of ['h2o', 'tova', 'knorm', 'streaming', 'snapkv', 'lagkv', 'laserkv', 'adakv']) {
      const ctx = model.createContext({ press: { name, ratio: 4 } });
      await ctx.prefill(CONTEXT, { question: QUESTION });
      const before = [0, 1].flatMap((l) => [0, 1].map((h) => ctx.cache.length(l, h)));
      let generated = 0;
      for await (const t of ctx.generate(QUESTION, {
        maxTokens: 12,
        temperature: 0,
        compress: false,
        compressGenerated: false,
      }))
        if (t.id >= 0) generated++;
      // Every generated token is fed back (the last one too, once the consumer asked for more).
      const added = QUESTION.length + generated;
      const after = [0, 1].flatMap((l) => [0, 1].map((h) => ctx.cache.length(l, h)));
      assert.deepEqual(
        after,
        before.map((n) => n + added),
        `${name}: the context's kept tokens and every question/answer token are held`,
      );
      for (const p of heldFrom(ctx, CONTEXT.length))
        assert.equal(p.length, added, `${name}: nothing from position ${CONTEXT.length} on evicted`);
      ctx.dispose();
    }
  }));

test('decode-time eviction stays on by default: H2O and K-norm keep evicting while the answer grows', () =>
  withModel(async (model) => {
    for (const name of ['h2o', 'knorm']) {
      const ctx = model.createContext({ press: { name, budget: 100 } });
      await ctx.prefill(CONTEXT, { question: QUESTION });
      await ctx.complete(QUESTION, { maxTokens: 10, temperature: 0, compress: false });
      // The question went in whole (100 + 8), then every decode step brought each head back to its budget.
      for (let l = 0; l < 2; l++) assert.equal(ctx.cache.length(l, 0), 100, name);
      ctx.dispose();
    }
  }));

test('a question that does not fit after the prompt is a RangeError; a stand-in is cut to the room left', () =>
  withModel(async (model) => {
    const small = model.createContext({ contextSize: 705, press: { name: 'snapkv', ratio: 4 } });
    await assert.rejects(
      small.prefill(CONTEXT, { question: QUESTION }),
      /question \(8 tokens after 700\) does not fit/,
    );
    assert.equal(small.tokens.length, 0, 'refused before any of it went in');
    // LASER-KV's stand-in (32 tokens) gets the 5 positions left: it still compresses.
    const laser = model.createContext({ contextSize: 705, press: { name: 'laserkv', ratio: 4 } });
    await laser.prefill(CONTEXT);
    assert.ok(laser.keptFraction < 0.6);
  }));

test('splitAtQuestion: the whole prompt’s tokens, cut at the last occurrence of the question', () => {
  // A toy tokenizer: one token per character, so cuts are easy to read.
  const encode = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
  const text = '<s>user: Where is Mary?\n<s>assistant: garden\n<s>user: Where is Mary?\nassistant:';
  const split = splitAtQuestion(encode, text, 'Where is Mary?');
  const at = text.lastIndexOf('Where is Mary?');
  // The whitespace before the question moves to the rest (here a space).
  assert.deepEqual(split?.context, encode(text.slice(0, at - 1)));
  assert.deepEqual(split?.rest, encode(text.slice(at - 1)));
  assert.equal(splitAtQuestion(encode, text, 'Where is John?'), undefined);
  assert.equal(splitAtQuestion(encode, text, '  '), undefined);
  assert.equal(splitAtQuestion(encode, 'Where is Mary?', 'Where is Mary?'), undefined);
  // A tokenizer that merges across the cut: the cut moves back to where both encodings agree.
  const merging = (s: string) => encode(s.replace(': W', '§'));
  const m = splitAtQuestion(merging, 'user: Where?', 'Where?');
  assert.deepEqual([...(m?.context ?? []), ...(m?.rest ?? [])], merging('user: Where?'));
});
