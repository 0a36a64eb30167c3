// Token costs of text pieces, measured once per tokenizer and summed, so that a 32k-token prompt is sized
// without re-tokenizing it in a loop (one full encode at the end checks the sum).
import type { TokenCounter } from '../tasks/types.js';

const caches = new WeakMap<TokenCounter, Map<string, number>>();
/** The piece is measured after an anchor: SentencePiece's space prefix and BPE's leading-space merges then
 * behave as they do mid-prompt. */
const ANCHOR = '.';

/** Tokens `piece` adds when it follows earlier text after `sep` (e.g. ' ' or '\n'). */
export function pieceCost(tok: TokenCounter, sep: string, piece: string): number {
  let cache = caches.get(tok);
  if (cache === undefined) {
    cache = new Map();
    caches.set(tok, cache);
  }
  const key = `${sep}\u0000${piece}`;
  let c = cache.get(key);
  if (c === undefined) {
    let base = cache.get('\u0001anchor');
    if (base === undefined) {
      base = tok.encode(ANCHOR).length;
      cache.set('\u0001anchor', base);
    }
    c = tok.encode(ANCHOR + sep + piece).length - base;
    cache.set(key, c);
  }
  return c;
}

/** Summed cost of pieces joined by `sep` (the first one counted as following earlier text too). */
export function joinedCost(tok: TokenCounter, sep: string, pieces: readonly string[]): number {
  let n = 0;
  for (const p of pieces) n += pieceCost(tok, sep, p);
  return n;
}
