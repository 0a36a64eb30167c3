// Bad or unsupported metadata must fail loading with an error that names the key or type.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInputError } from '../../src/errors.js';
import type { GgufValue } from '../../src/gguf/types.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { hasControlChars } from '../helpers/controls.js';
import { bpeEntries, metadata } from './_vocab.js';

const load = (entries: Record<string, GgufValue>) => () => Tokenizer.fromMetadata(metadata(entries));

test('unsupported tokenizer models are named', () => {
  for (const model of ['bert', 'rwkv', 't5']) {
    assert.throws(
      load({ ...bpeEntries([]), 'tokenizer.ggml.model': model }),
      new RegExp(`"${model}".*tokenizer\\.ggml\\.model`),
    );
  }
});

test('missing keys are named', () => {
  const { 'tokenizer.ggml.model': _m, ...noModel } = bpeEntries([]);
  assert.throws(load(noModel), /tokenizer\.ggml\.model/);
  const { 'tokenizer.ggml.tokens': _t, ...noTokens } = bpeEntries([]);
  assert.throws(load(noTokens), /tokenizer\.ggml\.tokens/);
  const { 'tokenizer.ggml.merges': _g, ...noMerges } = bpeEntries([]);
  assert.throws(load(noMerges), /tokenizer\.ggml\.merges/);
});

test('merges must be "left right" pairs of known tokens', () => {
  assert.throws(
    load({ ...bpeEntries([]), 'tokenizer.ggml.merges': ['a zz'] }),
    /merges"\[0\].*unknown token "zz"/,
  );
  assert.throws(load({ ...bpeEntries([]), 'tokenizer.ggml.merges': ['ab'] }), /not a "left right" pair/);
});

test('an unknown pre-tokenizer is an error naming it', () => {
  assert.throws(
    load(bpeEntries([], [], { 'tokenizer.ggml.pre': 'frobnicate' })),
    /"frobnicate".*tokenizer\.ggml\.pre/,
  );
});

test('inconsistent arrays, duplicate tokens and a missing BOS are reported', () => {
  assert.throws(load({ ...bpeEntries([]), 'tokenizer.ggml.token_type': [1, 1] }), /token_type/);
  const { 'tokenizer.ggml.token_type': _types, ...untyped } = bpeEntries([]);
  const tokens = untyped['tokenizer.ggml.tokens'] as string[];
  assert.throws(load({ ...untyped, 'tokenizer.ggml.tokens': [...tokens, 'a'] }), /duplicate token "a"/);
  assert.throws(
    load({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': ['<unk>'] }),
    /add_bos_token is true, but tokenizer\.ggml\.bos_token_id is not set/,
  );
});

test('decoding an out-of-range id is a RangeError', () => {
  const tok = Tokenizer.fromMetadata(metadata(bpeEntries([])));
  assert.throws(() => tok.decode([256]), RangeError);
});

test('vocabulary problems are bad input (TokenizerError), with file-derived text escaped and capped', () => {
  const fails = (entries: Record<string, GgufValue>, pattern: RegExp) =>
    assert.throws(load(entries), (e: Error) => {
      assert.ok(e instanceof BadInputError, `${e.name}: ${e.message}`);
      assert.equal(e.name, 'TokenizerError');
      assert.match(e.message, pattern);
      return true;
    });
  const { 'tokenizer.ggml.token_type': _types, ...untyped } = bpeEntries([]);
  const tokens = untyped['tokenizer.ggml.tokens'] as string[];
  fails({ ...untyped, 'tokenizer.ggml.tokens': [...tokens, 'a'] }, /duplicate token "a"/);
  fails({ ...bpeEntries([]), 'tokenizer.ggml.merges': ['a zz'] }, /unknown token "zz"/);
  fails({ ...bpeEntries([]), 'tokenizer.ggml.model': 'bert' }, /unsupported tokenizer model "bert"/);
  const evil = `\x1b]0;title\x07${'m'.repeat(5000)}`;
  fails(
    { ...bpeEntries([]), 'tokenizer.ggml.merges': [`a ${evil}`] },
    /unknown token "\\x1b\]0;title\\x07m+… \(5010 chars in all\)"/,
  );
  assert.throws(load({ ...bpeEntries([]), 'tokenizer.ggml.merges': [`a ${evil}`] }), (e: Error) => {
    assert.ok(!hasControlChars(e.message), JSON.stringify(e.message));
    assert.ok(e.message.length < 600, `${e.message.length} chars`);
    return true;
  });
});
