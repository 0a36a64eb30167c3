// RULER's metrics (NVIDIA RULER, scripts/eval/synthetic/constants.py), per sample: a reference counts when it
// appears anywhere in the prediction, case-insensitively, with no tokenization or punctuation stripping.
// RULER averages these over samples and reports ×100.

/** RULER's postprocess_pred (scripts/eval/evaluate.py): control characters become newlines, then strip. */
export function rulerPostprocess(pred: string): string {
  let out = '';
  for (const ch of pred.trim()) out += ch.charCodeAt(0) < 0x20 ? '\n' : ch;
  return out.trim();
}

/** string_match_all: the fraction of references found (1 only when every one appears). */
export function stringMatchAll(pred: string, refs: readonly string[]): number {
  if (refs.length === 0) return 0;
  const p = pred.toLowerCase();
  let hit = 0;
  for (const r of refs) if (p.includes(r.toLowerCase())) hit++;
  return hit / refs.length;
}

/** string_match_part (RULER's QA tasks): 1 when any reference appears. */
export function stringMatchPart(pred: string, refs: readonly string[]): number {
  const p = pred.toLowerCase();
  return refs.some((r) => p.includes(r.toLowerCase())) ? 1 : 0;
}
