// Tokenizer.minTokens is a lower bound on the token count, computed from the text's length: checked against
// real encodes of llama.cpp's test texts on every vocabulary in ../shared, and on hand-made vocabularies.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Tokenizer } from '../../src/tokenizer/index.js';
import type { EncodeOptions } from '../../src/tokenizer/tokenizer.js';
import { SKIP_SHARED } from '../helpers/shared.js';
import { bpe, bpeEntries, metadata, spmMetadata } from './_vocab.js';

const VOCAB_DIR = new URL('../../../shared/vocab/', import.meta.url);

/** Texts that stress the bound: long runs, multi-byte and astral characters, special-token texts. */
function hardTexts(base: string[]): string[] {
  return [
    ...base,
    ' '.repeat(500),
    '\n'.repeat(300),
    'a'.repeat(1000),
    '中文'.repeat(200),
    '🦙'.repeat(200),
    '<s></s><|im_start|><|endoftext|>'.repeat(20),
    '',
  ];
}

function checkBound(
  tok: Tokenizer,
  texts: string[],
  what: string,
  variants: EncodeOptions[] = [{}, { addSpecial: true, parseSpecial: true }],
): void {
  for (const text of texts) {
    for (const opts of variants) {
      const n = tok.encode(text, opts).length;
      const atLeast = tok.minTokens(text, opts);
      assert.ok(
        atLeast <= n,
        `${what}: bound ${atLeast} > ${n} tokens for ${JSON.stringify(text.slice(0, 40))}`,
      );
    }
  }
}

test('hand-made vocabularies: the bound holds, and is tight for one-token-per-char text', () => {
  const spm = Tokenizer.fromMetadata(
    spmMetadata([
      ['▁ab', -1],
      ['ab', -2],
    ]),
  );
  checkBound(spm, hardTexts(['ab ab', 'xyz']), 'spm');
  // The longest token text is "<0x00>" (6 code units): 600 'x' chars are at least 100 tokens.
  assert.equal(spm.minTokens('x'.repeat(600)), 100);
  const b = bpe(['a b', 'ab c']);
  checkBound(b, hardTexts(['abc abc', 'cab']), 'bpe');
  // A byte-level vocabulary missing a byte's token drops that byte when encoding: no bound is claimed.
  const entries = bpeEntries([]);
  const tokens = [...(entries['tokenizer.ggml.tokens'] as string[])];
  tokens[0x41] = '<no-A>';
  const gap = Tokenizer.fromMetadata(metadata({ ...entries, 'tokenizer.ggml.tokens': tokens }));
  assert.equal(gap.encode('AAAA').length, 0);
  assert.equal(gap.minTokens('AAAA'), 0);
});

test('every shared vocabulary: the bound never exceeds the real count', {
  skip: existsSync(VOCAB_DIR) ? false : SKIP_SHARED,
}, () => {
  const files = readdirSync(VOCAB_DIR).filter(
    (f) => f.endsWith('.gguf') && existsSync(new URL(`${f}.inp`, VOCAB_DIR)),
  );
  assert.ok(files.length > 0);
  for (const f of files) {
    const tok = Tokenizer.fromGguf(new URL(f, VOCAB_DIR).pathname);
    const inp = readFileSync(new URL(`${f}.inp`, VOCAB_DIR), 'utf8').split('\n__ggml_vocab_test__\n');
    // Parsing special tokens is the case that can only lower the count.
    checkBound(tok, hardTexts(inp), f, [{ addSpecial: true, parseSpecial: true }]);
  }
});
