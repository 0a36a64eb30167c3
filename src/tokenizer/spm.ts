// SentencePiece-style tokenization: llm_tokenizer_spm_session in llama.cpp's src/llama-vocab.cpp. Starting
// from single code points, the adjacent pair whose concatenation is the highest-scoring vocabulary token is
// merged first (ties: leftmost), until no adjacent pair forms a token. Symbols that are not tokens fall back to
// <0xXX> byte tokens.
import { TokenizerError } from './errors.js';
import { MinHeap } from './heap.js';
import { utf8Bytes } from './unicode.js';
import type { Vocab } from './vocab.js';

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** Length of the merged text when queued; a mismatch later means a side has since been merged away. */
  len: number;
}

const before = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);

/** Tokenizes text whose spaces are already escaped as U+2581, appending ids to `out`. */
export function spmTokenize(vocab: Vocab, text: string, out: number[]): void {
  const sym = Array.from(text); // one symbol per code point
  const n = sym.length;
  if (n === 0) return;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const queue = new MinHeap<Bigram>(before);
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const merged = sym[left] + sym[right];
    const id = vocab.ids.get(merged);
    if (id !== undefined) queue.push({ left, right, score: vocab.scores[id], len: merged.length });
  };
  for (let i = 1; i < n; i++) tryAdd(i - 1, i);

  for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
    const l = sym[b.left];
    const r = sym[b.right];
    if (l.length === 0 || r.length === 0 || l.length + r.length !== b.len) continue;
    sym[b.left] = l + r;
    sym[b.right] = '';
    next[b.left] = next[b.right];
    if (next[b.right] >= 0) prev[next[b.right]] = b.left;
    tryAdd(prev[b.left], b.left);
    tryAdd(b.left, next[b.left]);
  }

  for (let i = 0; i !== -1; i = next[i]) {
    const id = vocab.ids.get(sym[i]);
    if (id !== undefined) out.push(id);
    else for (const byte of utf8Bytes(sym[i])) out.push(byteToken(vocab, byte));
  }
}

/**
 * llama_vocab::byte_to_token for SPM: "<0xXX>", else the byte itself as a one-char token. Where llama.cpp would
 * throw, a vocabulary without byte tokens gets <unk>, as SentencePiece without byte_fallback does.
 */
function byteToken(vocab: Vocab, byte: number): number {
  const hex = byte.toString(16).toUpperCase().padStart(2, '0');
  const id =
    vocab.ids.get(`<0x${hex}>`) ?? (byte < 0x80 ? vocab.ids.get(String.fromCharCode(byte)) : undefined);
  if (id !== undefined) return id;
  if (vocab.special.unk !== undefined) return vocab.special.unk;
  throw new TokenizerError(`vocabulary has no byte token <0x${hex}> and no unknown token to fall back to`);
}
