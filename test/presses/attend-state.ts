// A fake LayerState whose `attend` returns hand-written probabilities, so the attention-scored presses can be
// checked on numbers worked out by hand (the real kernel is checked separately in attention-presses.test.ts).
import type { AttentionObservation, AttentionProbs, LayerState } from '../../src/presses/press.js';
import { fakeState } from './fake-state.js';

/** `rows[h][q]` is query head h's probability row for query q (padded with zeros to the longest row). */
export function probsOf(rows: number[][][]): AttentionProbs {
  const maxKeys = Math.max(...rows.flat().map((r) => r.length));
  const nQ = rows[0].length;
  const probs = new Float32Array(rows.length * nQ * maxKeys);
  rows.forEach((head, h) => {
    head.forEach((row, q) => {
      probs.set(row, (h * nQ + q) * maxKeys);
    });
  });
  return { probs, maxKeys };
}

export function attendState(
  o: Parameters<typeof fakeState>[0],
  attend: (queries: Float32Array, n: number, positions: ArrayLike<number>) => AttentionProbs,
): LayerState {
  return { ...fakeState(o), attend };
}

/** An observation of `nTokens` queries (their values unused by the fake `attend`) at `positions`. */
export function observation(state: LayerState, positions: number[], probe: boolean): AttentionObservation {
  const nHeads = state.nKvHeads * state.groupSize;
  return {
    queries: new Float32Array(positions.length * nHeads * state.headDim),
    positions: Int32Array.from(positions),
    nTokens: positions.length,
    nHeads,
    maxKeys: 0,
    probe,
  };
}
