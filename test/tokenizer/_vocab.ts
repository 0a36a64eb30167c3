// Hand-made tiny vocabularies for the tokenizer unit tests, built straight into GGUF-style metadata.
import { Metadata } from '../../src/gguf/reader.js';
import type { GgufValue } from '../../src/gguf/types.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { BYTE_TO_CHAR } from '../../src/tokenizer/unicode.js';

export const NORMAL = 1;
export const CONTROL = 3;
export const USER_DEFINED = 4;
export const BYTE = 6;

export function metadata(entries: Record<string, GgufValue>): Metadata {
  return new Metadata(new Map(Object.entries(entries)));
}

/**
 * Byte-level BPE: ids 0..255 are the GPT-2 byte chars in byte order (so an ASCII char's id is its code), then
 * the merge results in merge order, then `extra` tokens.
 */
export function bpeEntries(
  merges: string[],
  extra: [string, number][] = [],
  more: Record<string, GgufValue> = {},
): Record<string, GgufValue> {
  const tokens = [...BYTE_TO_CHAR, ...merges.map((m) => m.replace(' ', '')), ...extra.map(([t]) => t)];
  const types = [
    ...tokens.slice(0, tokens.length - extra.length).map(() => NORMAL),
    ...extra.map(([, ty]) => ty),
  ];
  return {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'gpt-2',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.merges': merges,
    ...more,
  };
}

export const bpe = (...args: Parameters<typeof bpeEntries>) =>
  Tokenizer.fromMetadata(metadata(bpeEntries(...args)));

/** SentencePiece: <unk> <s> </s>, the 256 <0xXX> byte tokens (ids 3..258), then `pieces` with their scores. */
export function spmMetadata(
  pieces: [string, number, number?][],
  more: Record<string, GgufValue> = {},
): Metadata {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  return metadata({
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': ['<unk>', '<s>', '</s>', ...bytes, ...pieces.map(([t]) => t)],
    'tokenizer.ggml.scores': [0, 0, 0, ...bytes.map(() => 0), ...pieces.map(([, s]) => s)],
    'tokenizer.ggml.token_type': [
      2,
      3,
      3,
      ...bytes.map(() => BYTE),
      ...pieces.map(([, , ty]) => ty ?? NORMAL),
    ],
    ...more,
  });
}

export const spm = (...args: Parameters<typeof spmMetadata>) => Tokenizer.fromMetadata(spmMetadata(...args));

/** Id of an SPM byte token. */
export const byteId = (b: number) => 3 + b;
