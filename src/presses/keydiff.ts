// KeyDiff (Park et al. 2025, arXiv 2504.15364, "KeyDiff: Key Similarity-Based KV Cache Eviction for
// Long-Context LLM Inference in Resource-Constrained Environments"). Attention-free, like LagKV: per KV head
// the anchor is the mean of the L2-normalised keys, and a token scores minus the cosine similarity of its key
// to that anchor, so the most distinctive keys stay (kvpress's KeyDiffPress.score).
//
// The paper processes the prompt block by block within a fixed cache; kvpress reproduces that with
// BlockPress(KeyDiffPress, block_size=128), which this follows: the head's first `target` tokens start as the
// kept set, then each block of 128 further tokens joins it and the top `target` of the union stay, the anchor
// recomputed over that union every time. kvsieve prefills in chunks (256 tokens) and this press acts after
// every chunk whose head is over its budget, so the blocks are cut within each chunk; with an absolute budget
// and a prompt of one chunk it is BlockPress exactly. Decoding appends, as in kvpress (wrap the press in
// `decoding` to compress while generating).
import type { HeadScorer } from './adakv.js';
import { Budget, type BudgetOptions, topKIndices } from './budget.js';
import type { KeepSets, LayerState, StepInfo } from './press.js';

export interface KeyDiffOptions extends BudgetOptions {
  /** Tokens per block of the block-wise selection (default 128, kvpress's BlockPress and the paper). */
  blockSize?: number;
}

export class KeyDiffPress implements HeadScorer {
  readonly name = 'keydiff';
  readonly blockSize: number;
  private readonly budget: Budget;

  constructor(o: KeyDiffOptions) {
    this.budget = new Budget(o, 'keydiff');
    this.blockSize = o.blockSize ?? 128;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1)
      throw new RangeError(`keydiff: blockSize must be a whole number >= 1, got ${o.blockSize}`);
  }

  layerTarget(state: LayerState): number {
    return this.budget.target(state.seen);
  }

  /** Per KV head, minus each key's cosine similarity to the mean normalised key of the whole head. */
  headScores(state: LayerState, step: StepInfo): Float64Array[] | null {
    if (step.phase === 'decode' && !step.prefillDone) return null;
    return Array.from({ length: state.nKvHeads }, (_, h) => {
      const unit = unitKeys(state.keys(h), state.length(h), state.headDim);
      return keyDiffScores(
        unit,
        state.headDim,
        Int32Array.from({ length: state.length(h) }, (_, i) => i),
      );
    });
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (step.phase === 'decode' && !step.prefillDone) return null;
    const target = this.layerTarget(state);
    let changed = false;
    const keep: KeepSets = [];
    for (let h = 0; h < state.nKvHeads; h++) {
      const n = state.length(h);
      if (n <= target) {
        keep.push(null);
        continue;
      }
      changed = true;
      keep.push(
        blockwiseKeep(unitKeys(state.keys(h), n, state.headDim), state.headDim, n, target, this.blockSize),
      );
    }
    return changed ? keep : null;
  }
}

/** Keys `[n][d]` scaled to unit L2 norm (F.normalize: a zero key stays zero). */
export function unitKeys(keys: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let t = 0; t < n; t++) {
    let ss = 0;
    for (let c = 0; c < d; c++) ss += keys[t * d + c] ** 2;
    const norm = Math.max(Math.sqrt(ss), 1e-12);
    for (let c = 0; c < d; c++) out[t * d + c] = keys[t * d + c] / norm;
  }
  return out;
}

/**
 * KeyDiff scores of the tokens `among` (indices into `unit`, `[n][d]` unit keys): the anchor is their mean unit
 * key, and each scores −cos(key, anchor). One score per entry of `among`.
 */
export function keyDiffScores(unit: Float64Array, d: number, among: ArrayLike<number>): Float64Array {
  const anchor = new Float64Array(d);
  for (let j = 0; j < among.length; j++) for (let c = 0; c < d; c++) anchor[c] += unit[among[j] * d + c];
  let norm = 0;
  for (let c = 0; c < d; c++) {
    anchor[c] /= among.length;
    norm += anchor[c] ** 2;
  }
  norm = Math.sqrt(norm);
  const s = new Float64Array(among.length);
  for (let j = 0; j < among.length; j++) {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += unit[among[j] * d + c] * anchor[c];
    // A unit key's cosine with the anchor is dot / |anchor| (torch's eps guards a zero anchor).
    s[j] = -dot / Math.max(norm, 1e-8);
  }
  return s;
}

/** BlockPress's loop over one head: start from the first `target` tokens, fold in `block` tokens at a time. */
export function blockwiseKeep(
  unit: Float64Array,
  d: number,
  n: number,
  target: number,
  block: number,
): Int32Array {
  let kept = Int32Array.from({ length: Math.min(target, n) }, (_, i) => i);
  for (let i = target; i < n; i += block) {
    const end = Math.min(i + block, n);
    const cand = new Int32Array(kept.length + end - i);
    cand.set(kept);
    for (let t = i; t < end; t++) cand[kept.length + t - i] = t;
    const best = topKIndices(keyDiffScores(unit, d, cand), target);
    kept = Int32Array.from(best, (j) => cand[j]);
  }
  return kept;
}
