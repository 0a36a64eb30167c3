// Byte-level BPE: llm_tokenizer_bpe_session in llama.cpp's src/llama-vocab.cpp. Text is split into pre-tokens,
// each pre-token is mapped to GPT-2 byte chars, and within it the adjacent pair with the lowest merge rank is
// merged first (ties: leftmost) until no adjacent pair has a merge.
import { MinHeap } from './heap.js';
import { PreTokenizer } from './pretokenizer.js';
import { byteEncode } from './unicode.js';
import type { Vocab } from './vocab.js';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  /** The merged text when queued; if the sides no longer concatenate to it, the entry is stale. */
  text: string;
}

const before = (a: Bigram, b: Bigram) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

/** Pre-tokens repeat a lot in real text; past this many distinct ones the cache starts over. */
const CACHE_LIMIT = 1 << 16;

export class BpeTokenizer {
  private readonly pre: PreTokenizer;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(private readonly vocab: Vocab) {
    if (vocab.pre === undefined) throw new Error('BPE vocabulary without a pre-tokenizer');
    this.pre = new PreTokenizer(vocab.pre.regexes);
    this.ignoreMerges = vocab.pre.ignoreMerges;
  }

  /** Tokenizes raw text (no special tokens), appending ids to `out`. */
  tokenize(text: string, out: number[]): void {
    for (const word of this.pre.split(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(byteEncode(word));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    const { ids, merges } = this.vocab;
    if (this.ignoreMerges) {
      const id = ids.get(word);
      if (id !== undefined) return [id];
    }
    // Byte chars are all single UTF-16 units, so one symbol per char.
    const sym = word.split('');
    const n = sym.length;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const queue = new MinHeap<Bigram>(before);
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const rank = merges.get(`${sym[left]} ${sym[right]}`);
      if (rank !== undefined) queue.push({ left, right, rank, text: sym[left] + sym[right] });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);

    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const l = sym[b.left];
      const r = sym[b.right];
      if (l.length === 0 || r.length === 0 || l + r !== b.text) continue;
      sym[b.left] = b.text;
      sym[b.right] = '';
      next[b.left] = next[b.right];
      if (next[b.right] >= 0) prev[next[b.right]] = b.left;
      tryAdd(prev[b.left], b.left);
      tryAdd(b.left, next[b.left]);
    }

    const out: number[] = [];
    for (let i = 0; i !== -1 && n > 0; i = next[i]) {
      const id = ids.get(sym[i]);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // A merge result missing from the vocab: emit its bytes one by one, dropping any without a token
      // (llama.cpp does the same per byte).
      for (const ch of sym[i]) {
        const byteId = ids.get(ch);
        if (byteId !== undefined) out.push(byteId);
      }
    }
    return out;
  }
}
