// Byte-level BPE on tiny hand-made vocabularies: merge priority, byte encoding, pre-tokenizers, BOS/EOS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { bpe, bpeEntries, CONTROL, metadata, NORMAL } from './_vocab.js';

const A = 0x61;
const B = 0x62;
const C = 0x63;

test('the lowest-ranked merge wins, wherever it is in the word', () => {
  // ids: 256 = first merge result, 257 = second
  assert.deepEqual(bpe(['b c', 'a b']).encode('abc'), [A, 256]); // "bc" (rank 0) before "ab" (rank 1)
  assert.deepEqual(bpe(['a b', 'b c']).encode('abc'), [256, C]);
});

test('equal ranks merge leftmost first, and merges build on merges', () => {
  assert.deepEqual(bpe(['a a']).encode('aaa'), [256, A]);
  assert.deepEqual(bpe(['a b', 'ab c']).encode('abc'), [257]);
  assert.deepEqual(bpe(['a b', 'ab c']).encode('abcab'), [257, 256]);
});

test('non-ASCII text is split into GPT-2 byte chars and decodes back', () => {
  const tok = bpe([]);
  assert.deepEqual(tok.encode('é'), [0xc3, 0xa9]);
  assert.equal(tok.decode([0xc3, 0xa9]), 'é');
  assert.equal(tok.decode(tok.encode('naïve 🦙\n')), 'naïve 🦙\n');
});

test('the gpt-2 pre-tokenizer keeps a leading space with its word, so merges never cross words', () => {
  const tok = bpe(['Ġ a', 'Ġa b', 'b Ġ']);
  // " ab ab" -> " ab", " ab": "b Ġ" would join across the word boundary but is never tried.
  assert.deepEqual(tok.encode(' ab ab'), [257, 257]);
  assert.equal(tok.decode([257, 257]), ' ab ab');
});

test('llama3-style pre-tokenizers take a whole pre-token from the vocab before merging (ignore_merges)', () => {
  const extra: [string, number][] = [['abc', NORMAL]];
  assert.deepEqual(bpe([], extra, { 'tokenizer.ggml.pre': 'llama-bpe' }).encode('abc'), [256]);
  assert.deepEqual(bpe([], extra).encode('abc'), [A, B, C]);
});

test('addSpecial adds BOS/EOS as add_bos_token/add_eos_token say; llama-bpe defaults add_bos to true', () => {
  const extra: [string, number][] = [
    ['<bos>', CONTROL],
    ['<eos>', CONTROL],
  ];
  const ids = { 'tokenizer.ggml.bos_token_id': 256, 'tokenizer.ggml.eos_token_id': 257 };
  const gpt2 = bpe([], extra, ids);
  assert.equal(gpt2.addBos, false);
  assert.deepEqual(gpt2.encode('a', { addSpecial: true }), [A]);
  const llama3 = bpe([], extra, { ...ids, 'tokenizer.ggml.pre': 'llama-bpe' });
  assert.equal(llama3.addBos, true);
  assert.deepEqual(llama3.encode('a', { addSpecial: true }), [256, A]);
  assert.deepEqual(llama3.encode('a'), [A]);
  const both = bpe([], extra, {
    ...ids,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': true,
  });
  const encoded = both.encode('a', { addSpecial: true });
  assert.deepEqual(encoded, [256, A, 257]);
  assert.equal(both.decode(encoded), '<bos>a<eos>');
  assert.equal(both.decode(encoded, { skipSpecial: true }), 'a');
});

test('a missing tokenizer.ggml.pre means the default pre-tokenizer', () => {
  const entries = bpeEntries([]);
  delete entries['tokenizer.ggml.pre'];
  const tok = Tokenizer.fromMetadata(metadata(entries));
  assert.equal(tok.decode(tok.encode('Hello, world! 1234')), 'Hello, world! 1234');
});
