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
import { Budget, type BudgetOptions, overBudget, topKIndices } from './budget.js';
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
      const n = state.length(h);
      const keys = state.keys(h);
      return keyDiffScores(keys, inverseNorms(keys, n, state.headDim), state.headDim, identity(n));
    });
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (step.phase === 'decode' && !step.prefillDone) return null;
    const target = this.layerTarget(state);
    return overBudget(state, target, (h, n) => {
      const keys = state.keys(h);
      return blockwiseKeep(keys, inverseNorms(keys, n, state.headDim), state.headDim, target, this.blockSize);
    });
  }
}

/**
 * 1/‖k‖ per key of `[n][d]` (F.normalize's unit key is k·(1/‖k‖), its eps 1e-12 keeping a zero key zero). The
 * unit keys are never formed: sums and dots over them take the keys times these.
 */
function inverseNorms(keys: Float32Array, n: number, d: number): Float64Array {
  const inv = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let ss = 0;
    for (let c = t * d; c < (t + 1) * d; c++) ss += keys[c] * keys[c];
    inv[t] = 1 / Math.max(Math.sqrt(ss), 1e-12);
  }
  return inv;
}

const identity = (n: number): Int32Array => {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
};

/** sum += sign · Σ unit keys of the tokens `among` (indices into `keys` `[n][d]`, with their inverse norms). */
function addUnits(
  sum: Float64Array,
  keys: Float32Array,
  inv: Float64Array,
  among: ArrayLike<number>,
  sign: 1 | -1,
): void {
  const d = sum.length;
  for (let j = 0; j < among.length; j++) {
    const o = among[j] * d;
    const f = sign * inv[among[j]];
    for (let c = 0; c < d; c++) sum[c] += keys[o + c] * f;
  }
}

/**
 * KeyDiff scores of the tokens `among` (indices into `keys`, `[n][d]`, with their inverse norms): the anchor
 * is their mean unit key (`sum` holds their sum, if known), and each scores −cos(key, anchor). One score per
 * entry of `among`.
 */
function keyDiffScores(
  keys: Float32Array,
  inv: Float64Array,
  d: number,
  among: Int32Array,
  sum?: Float64Array,
): Float64Array {
  const anchor = new Float64Array(d);
  if (sum) anchor.set(sum);
  else addUnits(anchor, keys, inv, among, 1);
  let norm = 0;
  for (let c = 0; c < d; c++) {
    anchor[c] /= among.length;
    norm += anchor[c] * anchor[c];
  }
  // A unit key's cosine with the anchor is its dot with it over |anchor| (torch's eps guards a zero anchor).
  const scale = -1 / Math.max(Math.sqrt(norm), 1e-8);
  const s = new Float64Array(among.length);
  for (let j = 0; j < among.length; j++) {
    const o = among[j] * d;
    let dot = 0;
    for (let c = 0; c < d; c++) dot += keys[o + c] * anchor[c];
    s[j] = dot * inv[among[j]] * scale;
  }
  return s;
}

/**
 * BlockPress's loop over one head: start from the first `target` tokens, fold in `block` tokens at a time.
 * The kept set's sum of unit keys is carried from block to block (plus the block's, minus the evicted ones'),
 * so each block sums over its own and the evicted tokens, not the whole union.
 */
function blockwiseKeep(
  keys: Float32Array,
  inv: Float64Array,
  d: number,
  target: number,
  block: number,
): Int32Array {
  const n = inv.length;
  let kept = identity(Math.min(target, n));
  const sum = new Float64Array(d);
  addUnits(sum, keys, inv, kept, 1);
  for (let i = target; i < n; i += block) {
    const end = Math.min(i + block, n);
    const cand = new Int32Array(kept.length + end - i);
    cand.set(kept);
    for (let t = i; t < end; t++) cand[kept.length + t - i] = t;
    addUnits(sum, keys, inv, cand.subarray(kept.length), 1);
    const best = topKIndices(keyDiffScores(keys, inv, d, cand, sum), target);
    kept = new Int32Array(best.length);
    for (let j = 0, b = 0; j < cand.length; j++) {
      if (b < best.length && best[b] === j) kept[b++] = cand[j];
      else addUnits(sum, keys, inv, [cand[j]], -1);
    }
  }
  return kept;
}
