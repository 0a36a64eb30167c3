// Special-token partitioning: tokenizer_st_partition in llama.cpp's src/llama-vocab.cpp. Special tokens are
// taken longest first; each one splits every remaining text fragment at all of its occurrences. User-defined
// tokens are always split out; control and unknown tokens only when parsing special tokens is requested.

import { Attr } from './attrs.js';
import { isAsciiSpace } from './unicode.js';
import type { Vocab } from './vocab.js';

/** A piece of input: raw text still to be tokenized, or an already-resolved token id. */
export type Fragment = string | number;

export function partition(vocab: Vocab, text: string, parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = text.length > 0 ? [text] : [];
  for (const id of vocab.specialTokens) {
    const attr = vocab.attrs[id];
    if (!parseSpecial && attr & (Attr.CONTROL | Attr.UNKNOWN)) continue;
    const tok = vocab.tokens[id];
    // Fragments are substrings of `text`, so a token absent from it cannot split anything.
    if (!text.includes(tok)) continue;
    const next: Fragment[] = [];
    for (const f of fragments) {
      if (typeof f === 'number') next.push(f);
      else splitAt(f, tok, id, attr, next);
    }
    fragments = next;
  }
  return fragments;
}

function splitAt(text: string, tok: string, id: number, attr: number, out: Fragment[]): void {
  let start = 0;
  for (let at = text.indexOf(tok); at >= 0; at = text.indexOf(tok, start)) {
    let leftEnd = at;
    if (attr & Attr.LSTRIP) while (leftEnd > start && isAsciiSpace(text[leftEnd - 1])) leftEnd--;
    if (leftEnd > start) out.push(text.slice(start, leftEnd));
    out.push(id);
    start = at + tok.length;
    if (attr & Attr.RSTRIP) while (start < text.length && isAsciiSpace(text[start])) start++;
  }
  if (start < text.length) out.push(text.slice(start));
}
