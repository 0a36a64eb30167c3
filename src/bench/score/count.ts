// LongBench's count_score (THUDM/LongBench, metrics.py), for PassageCount: the share of the numbers in the
// prediction that equal the reference count (0 when the prediction has no number).

export function countScore(prediction: string, groundTruth: string): number {
  const numbers = prediction.match(/\d+/g) ?? [];
  if (numbers.length === 0) return 0;
  return numbers.filter((n) => n === groundTruth).length / numbers.length;
}
