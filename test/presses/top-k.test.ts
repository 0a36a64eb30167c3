// topKIndices, which every scored press ranks with: the k largest scores in index order, ties to the earlier
// index, against a brute-force reference (pick the best remaining k times) on scores with many ties, ±0,
// infinities (sinks) and NaN.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topKIndices } from '../../src/presses/budget.js';
import { rng } from '../kernels/helpers.js';

/** k times: the largest remaining score, the earliest on a tie (−0 and +0 tie, as numbers compare). */
function bruteForce(scores: number[], k: number): number[] {
  const taken = new Set<number>();
  for (let r = 0; r < Math.min(k, scores.length); r++) {
    let best = -1;
    for (let i = 0; i < scores.length; i++) {
      if (taken.has(i)) continue;
      if (best < 0 || scores[i] > scores[best]) best = i;
    }
    taken.add(best);
  }
  return [...taken].sort((a, b) => a - b);
}

test('the k largest, ties to the earlier index, for every k, on scores with ties, ±0 and infinities', () => {
  const next = rng(7);
  const pool = [0, -0, 1, 1, 2, -3, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5];
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + Math.floor(next() * 60);
    const scores = Array.from({ length: n }, () =>
      next() < 0.5 ? pool[Math.floor(next() * pool.length)] : Math.round(next() * 8) / 4,
    );
    for (let k = 0; k <= n + 1; k++) {
      assert.deepEqual(
        Array.from(topKIndices(scores, k)),
        bruteForce(scores, k),
        `n ${n}, k ${k}: ${scores}`,
      );
    }
  }
});

test('a NaN score does not lose or duplicate indices', () => {
  const got = Array.from(topKIndices([3, Number.NaN, 5, 1, 4], 3));
  assert.equal(got.length, 3);
  assert.deepEqual(
    got,
    [...new Set(got)].sort((a, b) => a - b),
  );
  assert.ok(got.includes(2) && got.includes(4));
});
