// LongBench's qa_f1_score (THUDM/LongBench, metrics.py; SQuAD's normalize_answer): token F1 between the
// normalized prediction and reference.

const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** Lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  let t = '';
  for (const ch of s.toLowerCase()) if (!PUNCTUATION.has(ch)) t += ch;
  // Python's \b is Unicode-aware; spell it out with letter/number classes.
  t = t.replace(/(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu, ' ');
  return t
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

/** f1_score over token lists: multiset overlap; 0 when nothing is shared. */
export function tokenF1(prediction: readonly string[], reference: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const t of reference) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of prediction) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / prediction.length;
  const recall = same / reference.length;
  return (2 * precision * recall) / (precision + recall);
}

export function qaF1(prediction: string, reference: string): number {
  const p = normalizeAnswer(prediction)
    .split(' ')
    .filter((w) => w !== '');
  const r = normalizeAnswer(reference)
    .split(' ')
    .filter((w) => w !== '');
  return tokenF1(p, r);
}
