// SentencePiece-style tokenization on tiny hand-made vocabularies: score priority, byte fallback, the
// add_space_prefix space and its removal on decode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byteId, spm } from './_vocab.js';

// ids: 259 "▁", 260 "a", 261 "b", 262 "c", 263 "ab", 264 "bc", 265 "aa"
const pieces = (ab: number, bc: number): [string, number][] => [
  ['▁', -5],
  ['a', -3],
  ['b', -3],
  ['c', -3],
  ['ab', ab],
  ['bc', bc],
  ['aa', -1],
];

test('the highest-scoring pair merges first', () => {
  assert.deepEqual(spm(pieces(-2, -1)).encode('abc'), [259, 260, 264]); // ▁ a bc
  assert.deepEqual(spm(pieces(-1, -2)).encode('abc'), [259, 263, 262]); // ▁ ab c
});

test('equal scores merge leftmost first', () => {
  assert.deepEqual(spm(pieces(-2, -1)).encode('aaa'), [259, 265, 260]); // ▁ aa a
});

test('characters without a piece fall back to <0xXX> byte tokens', () => {
  const tok = spm(pieces(-2, -1));
  assert.deepEqual(tok.encode('aé'), [259, 260, byteId(0xc3), byteId(0xa9)]);
  assert.equal(tok.decode(tok.encode('aé')), 'aé');
});

test('spaces become ▁; add_space_prefix adds one in front and decode removes it again', () => {
  const tok = spm(pieces(-2, -1));
  assert.deepEqual(tok.encode('ab c'), [259, 263, 259, 262]);
  assert.equal(tok.decode([259, 263, 259, 262]), 'ab c');
  assert.equal(tok.decode(tok.encode('  ab')), '  ab');
  const noPrefix = spm(pieces(-2, -1), { 'tokenizer.ggml.add_space_prefix': false });
  assert.deepEqual(noPrefix.encode('ab'), [263]);
  assert.equal(noPrefix.decode([259, 263]), ' ab');
});

test('SPM adds BOS by default; decode drops the prefix space after it', () => {
  const tok = spm(pieces(-2, -1));
  assert.equal(tok.addBos, true);
  const ids = tok.encode('ab', { addSpecial: true });
  assert.deepEqual(ids, [1, 259, 263]);
  assert.equal(tok.decode(ids, { skipSpecial: true }), 'ab');
  assert.equal(tok.decode(ids), '<s>ab');
});
