// LongBench's rouge_score (THUDM/LongBench, metrics.py): the F of ROUGE-L from the `rouge` package
// (pltrdy/rouge: rouge.py and rouge_score.py rouge_l_summary_level, exclusive mode), 0 when it raises (an
// empty or all-dots prediction or reference).
//
// That implementation splits each text into "sentences" at every '.', normalizes whitespace, splits words on
// single spaces, and counts distinct words: m and n are the numbers of distinct reference and prediction
// words, and the LCS hits are the distinct words of each reference sentence's union LCS with the prediction's
// sentences, summed over reference sentences with words already counted left out.

function sentences(text: string): string[] {
  return text
    .split('.')
    .filter((s) => s.length > 0)
    .map((s) =>
      s
        .split(/\s+/)
        .filter((w) => w !== '')
        .join(' '),
    );
}

const words = (sents: readonly string[]): string[] => sents.flatMap((s) => s.split(' '));

/** The LCS of x and y as rouge_score._recon_lcs walks it back (ties go left, i.e. shorten y). */
function lcsWords(x: readonly string[], y: readonly string[]): string[] {
  const n = x.length;
  const m = y.length;
  const w = m + 1;
  const t = new Uint32Array((n + 1) * w);
  for (let i = 1; i <= n; i++)
    for (let j = 1; j <= m; j++)
      t[i * w + j] =
        x[i - 1] === y[j - 1] ? t[(i - 1) * w + j - 1] + 1 : Math.max(t[(i - 1) * w + j], t[i * w + j - 1]);
  const out: string[] = [];
  let i = n;
  let j = m;
  while (i > 0 && j > 0) {
    if (x[i - 1] === y[j - 1]) {
      out.push(x[i - 1]);
      i--;
      j--;
    } else if (t[(i - 1) * w + j] > t[i * w + j - 1]) i--;
    else j--;
  }
  return out.reverse();
}

/** ROUGE-L F between one prediction and one reference, as LongBench computes it. */
export function rougeL(prediction: string, reference: string): number {
  const hyp = sentences(prediction);
  const ref = sentences(reference);
  if (hyp.length === 0 || ref.length === 0) return 0;
  const m = new Set(words(ref)).size;
  const n = new Set(words(hyp)).size;
  const union = new Set<string>();
  let hits = 0;
  for (const r of ref) {
    const before = union.size;
    const rw = r.split(' ');
    for (const h of hyp) for (const x of lcsWords(rw, h.split(' '))) union.add(x);
    hits += union.size - before;
  }
  const recall = hits / m;
  const precision = hits / n;
  return 2 * ((precision * recall) / (precision + recall + 1e-8));
}
