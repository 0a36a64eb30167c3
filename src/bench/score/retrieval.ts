// LongBench's retrieval_score / retrieval_zh_score (THUDM/LongBench, metrics.py), for PassageRetrieval: the
// paragraph number named in the reference ("Paragraph 12" / "段落12"), against every number in the
// prediction: the share of them that are right.

function share(prediction: string, id: string): number {
  const numbers = prediction.match(/\d+/g) ?? [];
  if (numbers.length === 0) return 0;
  return numbers.filter((n) => n === id).length / numbers.length;
}

export function retrievalScore(prediction: string, groundTruth: string): number {
  const m = /Paragraph (\d+)/.exec(groundTruth);
  return m === null ? 0 : share(prediction, m[1]);
}

export function retrievalZhScore(prediction: string, groundTruth: string): number {
  const m = /段落(\d+)/.exec(groundTruth);
  return m === null ? 0 : share(prediction, m[1]);
}
