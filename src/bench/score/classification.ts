// LongBench's classification_score (THUDM/LongBench, metrics.py), for TREC and LSHT: the classes named in the
// prediction (case-sensitive substrings), minus those that are a proper part of the true class name; 1 / (how
// many remain) when the true class is among them. Reproduced exactly, including two quirks of the original:
// removing from the list while iterating over it skips the element after each removal, and its
// `em_match_list != 0` test is always true, so the fuzzy-match fallback never runs.

export function classificationScore(
  prediction: string,
  groundTruth: string,
  allClasses: readonly string[],
): number {
  const matches = allClasses.filter((c) => prediction.includes(c));
  for (let i = 0; i < matches.length; i++) {
    const term = matches[i];
    // Python's list.remove during a for loop: the next element slides into this slot and is never visited.
    if (groundTruth.includes(term) && term !== groundTruth) matches.splice(matches.indexOf(term), 1);
  }
  return matches.includes(groundTruth) ? 1 / matches.length : 0;
}
