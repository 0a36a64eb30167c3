// Special tokens: partitioning (parseSpecial, user-defined, longest first), end-of-generation detection and
// streaming decode of multi-byte characters split over tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bpe, byteId, CONTROL, NORMAL, spm, USER_DEFINED } from './_vocab.js';

const A = 0x61;
const B = 0x62;

test('control tokens are matched only with parseSpecial; user-defined tokens always', () => {
  // ids: 256 <|im_start|>, 257 <|im_end|>, 258 <x>
  const tok = bpe(
    [],
    [
      ['<|im_start|>', CONTROL],
      ['<|im_end|>', CONTROL],
      ['<x>', USER_DEFINED],
    ],
  );
  const text = '<|im_start|>a<x>b<|im_end|>';
  assert.deepEqual(tok.encode(text, { parseSpecial: true }), [256, A, 258, B, 257]);
  const plain = tok.encode(text);
  assert.ok(!plain.includes(256) && !plain.includes(257));
  assert.ok(plain.includes(258));
  assert.equal(tok.decode(plain), text);
  assert.equal(tok.decode([256, A, 258, B, 257], { skipSpecial: true }), 'a<x>b');
});

test('longer special tokens are split out first', () => {
  const tok = bpe(
    [],
    [
      ['<a>', CONTROL],
      ['<a><b>', CONTROL],
    ],
  );
  assert.deepEqual(tok.encode('<a><b><a>', { parseSpecial: true }), [257, 256]);
});

test('SPM prefixes a space to text that follows a special token', () => {
  const tok = spm([
    ['▁', -5],
    ['a', -3],
    ['<|user|>', 0, CONTROL],
  ]);
  // ids: 259 ▁, 260 a, 261 <|user|>
  assert.deepEqual(tok.encode('a<|user|>a', { parseSpecial: true }), [259, 260, 261, 259, 260]);
});

test('Phi-3 special tokens swallow the whitespace after them (llama.cpp name-based rstrip)', () => {
  const pieces: [string, number, number?][] = [
    ['▁', -5],
    ['a', -3],
    ['<|user|>', 0, CONTROL],
  ];
  const phi3 = spm(pieces, { 'general.name': 'Phi3' });
  assert.deepEqual(phi3.encode('<|user|>\n a', { parseSpecial: true }), [261, 259, 260]);
  const other = spm(pieces);
  assert.notDeepEqual(other.encode('<|user|>\n a', { parseSpecial: true }), [261, 259, 260]);
});

test('end of generation: eos, eot/eom ids, and known end-of-turn texts even when typed normal', () => {
  // ids: 256 <|endoftext|>, 257 <|im_end|>, 258 <|eom_id|>, 259 hello
  const tok = bpe(
    [],
    [
      ['<|endoftext|>', CONTROL],
      ['<|im_end|>', NORMAL],
      ['<|eom_id|>', NORMAL],
      ['hello', NORMAL],
    ],
    { 'tokenizer.ggml.eos_token_id': 256 },
  );
  assert.equal(tok.eos, 256);
  assert.equal(tok.eot, 257); // <|im_end|> is picked up as EOT by its text
  for (const id of [256, 257, 258]) assert.equal(tok.isEndOfGeneration(id), true, `id ${id}`);
  assert.equal(tok.isEndOfGeneration(259), false);
  assert.equal(tok.isEndOfGeneration(A), false);
  // and is now treated as a control token
  assert.equal(tok.decode([A, 257], { skipSpecial: true }), 'a');
});

test('an explicit eot_token_id wins over text detection', () => {
  const tok = bpe(
    [],
    [
      ['<|im_end|>', CONTROL],
      ['<|eot_id|>', CONTROL],
    ],
    { 'tokenizer.ggml.eot_token_id': 257 },
  );
  assert.equal(tok.eot, 257);
});

test('<|end|> is not EOG in harmony-style vocabularies that have <|return|> and <|call|>', () => {
  const extra: [string, number][] = [
    ['<|end|>', CONTROL],
    ['<|return|>', CONTROL],
    ['<|call|>', CONTROL],
  ];
  const tok = bpe([], extra);
  assert.equal(tok.isEndOfGeneration(256), false);
  assert.equal(tok.isEndOfGeneration(257), true);
  assert.equal(bpe([], extra.slice(0, 1)).isEndOfGeneration(256), true);
});

test('streaming decode holds back a character split over byte-level BPE tokens', () => {
  const tok = bpe([]);
  const stream = tok.createStreamDecoder();
  assert.equal(stream.push(A), 'a');
  assert.equal(stream.push(0xc3), ''); // first byte of "é"
  assert.equal(stream.push(0xa9), 'é');
  assert.equal(stream.flush(), '');
  assert.equal(tok.tokenToPiece(0xc3), '\uFFFD'); // a lone piece can only show the partial byte as U+FFFD
});

test('streaming decode of a 4-byte character from SPM byte tokens, and flush of a cut-off one', () => {
  const tok = spm([]);
  const llama = [0xf0, 0x9f, 0xa6, 0x99].map(byteId); // 🦙
  const stream = tok.createStreamDecoder();
  assert.deepEqual(
    llama.map((id) => stream.push(id)),
    ['', '', '', '🦙'],
  );
  assert.equal(stream.push(byteId(0xe2)), '');
  assert.equal(stream.flush(), '\uFFFD');
  const skipping = tok.createStreamDecoder({ skipSpecial: true });
  assert.equal(skipping.push(1) + skipping.push(byteId(0x41)), 'A');
});
