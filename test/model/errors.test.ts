// A model file that is well-formed GGUF but not a model we can run, and bad options, each give an error
// naming the problem (never a crash, a hang or garbage).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { BadInputError } from '../../src/errors.js';
import { GgmlType, type GgufKv, GgufValueType } from '../../src/gguf/types.js';
import { Model } from '../../src/model/model.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { type GgufEdit, ggufVariant } from '../helpers/gguf-variant.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const base = join(dir, 'base.gguf');
writeSyntheticModel(base, {
  arch: 'llama',
  dim: 64,
  nLayers: 1,
  nHeads: 4,
  nKvHeads: 2,
  ffnDim: 128,
  vocabSize: 300,
  contextLength: 64,
  type: GgmlType.F32,
  tiedOutput: true,
  seed: 1,
});

/** Copies `base` with edits to its metadata and tensors. */
const variant = (name: string, edit: GgufEdit) => ggufVariant(base, dir, name, edit);

const setKv = (key: string, value: GgufKv) => (kv: GgufKv[]) => kv.map((e) => (e.key === key ? value : e));

async function loadFails(path: string, pattern: RegExp, opts = {}): Promise<void> {
  await assert.rejects(Model.load(path, { backend: 'ref', ...opts }), (e: Error) => {
    assert.match(e.message, pattern);
    return true;
  });
}

/** Loading fails with bad-input error (the CLI's exit 2), never a plain Error (a bug, exit 1). */
async function badInput(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(Model.load(path, { backend: 'ref' }), (e: Error) => {
    assert.ok(e instanceof BadInputError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const f32 = (key: string, value: number) => setKv(key, { key, type: GgufValueType.FLOAT32, value });

test('unsupported architecture is named', async () => {
  const p = variant('arch', {
    kv: setKv('general.architecture', {
      key: 'general.architecture',
      type: GgufValueType.STRING,
      value: 'rwkv6',
    }),
  });
  await loadFails(p, /unsupported architecture "rwkv6"/);
});

test('a missing tensor is named', async () => {
  const p = variant('missing', { tensors: (t) => t.filter((x) => x.name !== 'blk.0.ffn_up.weight') });
  await loadFails(p, /missing tensor "blk\.0\.ffn_up\.weight"/);
});

test('a tensor of the wrong shape is named with both shapes', async () => {
  const p = variant('shape', {
    tensors: (t) => t.map((x) => (x.name === 'blk.0.attn_k.weight' ? { ...x, dims: [32, 64] } : x)),
  });
  await loadFails(p, /tensor "blk\.0\.attn_k\.weight" has shape \[32,64\], expected \[64,32\]/);
});

test('heads that do not divide into KV groups are rejected', async () => {
  const p = variant('gqa', {
    kv: setKv('llama.attention.head_count_kv', {
      key: 'llama.attention.head_count_kv',
      type: GgufValueType.UINT32,
      value: 3,
    }),
  });
  await loadFails(p, /head_count 4 is not a multiple of head_count_kv 3/);
});

test('absurd sizes in metadata are rejected', async () => {
  const p = variant('huge', {
    kv: setKv('llama.block_count', { key: 'llama.block_count', type: GgufValueType.UINT32, value: 4e9 }),
  });
  await loadFails(p, /llama\.block_count.*not a sane size/);
});

test('a vocabulary that does not match the embedding is rejected', async () => {
  const p = variant('vocab', {
    kv: (kv) =>
      kv
        .map((e) =>
          e.key === 'tokenizer.ggml.tokens' ? { ...e, value: (e.value as string[]).slice(0, 299) } : e,
        )
        .map((e) =>
          e.key === 'tokenizer.ggml.scores' || e.key === 'tokenizer.ggml.token_type'
            ? { ...e, value: (e.value as number[]).slice(0, 299) }
            : e,
        ),
  });
  await loadFails(p, /299/);
  await badInput(p, /the vocabulary has 299 tokens \(tokenizer\.ggml\.tokens\) but llama\.vocab_size is 300/);
  const noSize = variant('vocab-nosize', {
    kv: (kv) =>
      kv
        .filter((e) => e.key !== 'llama.vocab_size')
        .map((e) =>
          e.key === 'tokenizer.ggml.tokens' ||
          e.key === 'tokenizer.ggml.scores' ||
          e.key === 'tokenizer.ggml.token_type'
            ? { ...e, value: (e.value as string[]).slice(0, 299) }
            : e,
        ),
  });
  await badInput(noSize, /token_embd\.weight has 300 rows but the vocabulary has 299 tokens/);
});

test('NaN, zero or negative float hyper-parameters are refused, naming the key', async () => {
  const cases: [string, number, RegExp][] = [
    ['llama.rope.freq_base', Number.NaN, /"llama\.rope\.freq_base" = NaN is invalid: RoPE/],
    ['llama.rope.freq_base', 0, /"llama\.rope\.freq_base" = 0 is invalid/],
    ['llama.rope.freq_base', Number.POSITIVE_INFINITY, /freq_base" = Infinity is invalid/],
    ['llama.attention.layer_norm_rms_epsilon', -1e-5, /layer_norm_rms_epsilon" = -0\.0000\d+ is invalid/],
    ['llama.attention.layer_norm_rms_epsilon', 0, /layer_norm_rms_epsilon" = 0 is invalid: RMSNorm/],
    ['llama.attention.layer_norm_rms_epsilon', Number.NaN, /layer_norm_rms_epsilon" = NaN is invalid/],
  ];
  for (const [i, [key, value, pattern]] of cases.entries()) {
    await badInput(variant(`float-${i}`, { kv: f32(key, value) }), pattern);
  }
  const scaled = variant('scale', {
    kv: (kv) => [
      ...kv,
      { key: 'llama.rope.scaling.type', type: GgufValueType.STRING, value: 'linear' },
      { key: 'llama.rope.scaling.factor', type: GgufValueType.FLOAT32, value: -2 },
    ],
  });
  await badInput(scaled, /"llama\.rope\.scaling\.factor" = -2 is invalid/);
});

test('unsupported tensor types are bad input naming the tensor and what is supported', async () => {
  // I32 has the F32 tensor's size, I16 half of it: both are valid GGUF, neither is a weight type we decode.
  for (const [type, bytes] of [
    [GgmlType.I32, 1],
    [GgmlType.I16, 0.5],
  ] as const) {
    const p = variant(`type-${type}`, {
      tensors: (t) =>
        t.map((x) =>
          x.name === 'blk.0.attn_k.weight' && x.data instanceof Uint8Array
            ? { ...x, type, data: x.data.subarray(0, x.data.length * bytes) }
            : x,
        ),
    });
    const name = GgmlType[type];
    await badInput(
      p,
      new RegExp(
        `tensor "blk\\.0\\.attn_k\\.weight" has type ${name}, which kvsieve cannot load \\(supported: F32, F16, Q4_0.*Q6_K`,
      ),
    );
  }
});

test('a bad vocabulary (duplicate tokens, merges of unknown tokens) is bad input, not a bug', async () => {
  const dup = variant('dup-token', {
    kv: (kv) =>
      kv.map((e) =>
        e.key === 'tokenizer.ggml.tokens'
          ? { ...e, value: (e.value as string[]).map((t, i) => (i === 5 ? (e.value as string[])[4] : t)) }
          : e,
      ),
  });
  await badInput(dup, /duplicate token "<0x01>" in "tokenizer\.ggml\.tokens" \(ids 4 and 5\)/);
});

test('bad load options are rejected by name', async () => {
  await loadFails(base, /threads must be 1\.\.256/, { threads: 0 });
  await loadFails(base, /batchSize must be 1\.\.8192/, { batchSize: -1 });
  await loadFails(base, /unknown backend "cuda"/, { backend: 'cuda' });
});

test('prompts beyond the context, bad sampling options and bad token ids are errors', async () => {
  const model = await Model.load(base, { backend: 'ref' });
  try {
    const ctx = model.createContext();
    await assert.rejects(
      ctx.complete(new Array(65).fill(5)),
      /65 tokens after 0 exceed the context size of 64 tokens/,
    );
    await assert.rejects(ctx.complete([1, 5], { temperature: -1 }), /temperature must be >= 0/);
    await assert.rejects(ctx.complete([1, 5], { topP: 2 }), /topP must be in \(0, 1\]/);
    await assert.rejects(ctx.complete([1, 5], { maxTokens: -3 }), /maxTokens must be >= 0/);
    await assert.rejects(ctx.complete([1, 100000]), /token id 100000 outside vocabulary/);
    assert.throws(
      () => model.createContext({ contextSize: 0 }),
      /contextSize must be a positive whole number/,
    );
  } finally {
    await model.close();
  }
});
