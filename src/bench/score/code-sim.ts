// LongBench's code_sim_score (THUDM/LongBench, metrics.py), for LCC and RepoBench-P: the first line of the
// prediction that holds no '`', '#' or '//' (after dropping leading newlines), compared with the reference
// line by fuzzywuzzy's fuzz.ratio / 100.

/**
 * fuzz.ratio with python-Levenshtein: round(100 · (|a| + |b| − d) / (|a| + |b|)), d the edit distance where a
 * substitution costs 2 (insertions and deletions only). Equal strings give 100 (even two empty ones), one
 * empty string 0. Python rounds halves to even; so does this. Lengths count code points, as Python does.
 */
export function fuzzRatio(a: string, b: string): number {
  if (a === b) return 100;
  const x = Array.from(a);
  const y = Array.from(b);
  if (x.length === 0 || y.length === 0) return 0;
  const total = x.length + y.length;
  return roundHalfEven((100 * (total - indelDistance(x, y))) / total);
}

function indelDistance(x: readonly string[], y: readonly string[]): number {
  let prev = new Uint32Array(y.length + 1);
  let cur = new Uint32Array(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 2));
    [prev, cur] = [cur, prev];
  }
  return prev[y.length];
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (Math.abs(d - 0.5) < 1e-9) return f % 2 === 0 ? f : f + 1;
  return Math.round(v);
}

export function codeSimScore(prediction: string, groundTruth: string): number {
  let line = '';
  for (const l of prediction.replace(/^\n+/, '').split('\n')) {
    if (!l.includes('`') && !l.includes('#') && !l.includes('//')) {
      line = l;
      break;
    }
  }
  return fuzzRatio(line, groundTruth) / 100;
}
