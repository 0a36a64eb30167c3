// Shared pieces of the RULER tasks (NVIDIA RULER, scripts/data/synthetic/): depth list, needle insertion by
// token depth, and the common scorer.
import { rulerPostprocess, stringMatchAll } from '../score/string-match.js';
import { pieceCost } from '../text/cost.js';
import { countTokens, type TaskSample, type TokenCounter } from './types.js';

/** niah.py: `np.round(np.linspace(0, 100, num=40, endpoint=True))`, as fractions. */
export const DEPTHS: readonly number[] = Array.from(
  { length: 40 },
  (_, i) => Math.round((i * 100) / 39) / 100,
);

export interface Placed {
  /** Units with the needles spliced in. */
  pieces: string[];
  /** Token depth (0..1 of the haystack) where each needle landed, in the order given. */
  depths: number[];
}

/**
 * Inserts needle i at the unit boundary nearest to `at[i]` of the haystack's tokens (RULER inserts at
 * `int(len(sentences) * depth)`; counting tokens keeps the depth honest when sentences differ in length).
 * Needles at the same spot keep their given order.
 */
export function placeNeedles(
  tok: TokenCounter,
  units: readonly string[],
  sep: string,
  needles: readonly string[],
  at: readonly number[],
): Placed {
  const cum = [0];
  for (const u of units) cum.push(cum[cum.length - 1] + pieceCost(tok, sep, u));
  const total = cum[cum.length - 1];
  const pos = at.map((d) => {
    let p = 0;
    while (p < units.length && cum[p] < d * total) p++;
    // The nearer of the two boundaries around the spot.
    return p > 0 && d * total - cum[p - 1] < cum[p] - d * total ? p - 1 : p;
  });
  const order = needles.map((_, i) => i).sort((a, b) => pos[a] - pos[b] || a - b);
  const pieces: string[] = [];
  let k = 0;
  for (let p = 0; p <= units.length; p++) {
    while (k < order.length && pos[order[k]] === p) pieces.push(needles[order[k++]]);
    if (p < units.length) pieces.push(units[p]);
  }
  return { pieces, depths: pos.map((p) => (total === 0 ? 0 : cum[p] / total)) };
}

/**
 * The prompt length RULER builds for a sequence length: niah.py, vt.py and cwe.py grow the haystack while
 * `tokens(input + answer) + tokens_to_generate <= max_seq_length`, so a 4k sample fits a 4k context with room
 * for its answer. (RULER tokenizes input and answer together; counting them apart can differ by a token.)
 * Throws when even the prompt without haystack (`minPrompt` tokens) does not fit.
 */
export function rulerPromptTokens(
  tok: TokenCounter,
  task: string,
  length: number,
  maxNewTokens: number,
  answer: string,
  minPrompt: number,
): number {
  const target = length - maxNewTokens - countTokens(tok, answer);
  if (minPrompt > target)
    throw new RangeError(
      `a ${task} prompt needs at least ${minPrompt} tokens (+${length - target} for its answer), asked for ${length}`,
    );
  return target;
}

/** RULER scores every synthetic task but QA with string_match_all on the post-processed prediction. */
export function rulerScore(output: string, sample: TaskSample): number {
  return stringMatchAll(rulerPostprocess(output), sample.answers);
}
