// LASER-KV (arXiv 2602.02199, "More Than a Quick Glance"), following the authors' code: zer0-data/LASER-KV,
// whose engine is bmrt/ from zer0-data/DistInf (processor.py RecursiveCompressionEngine, selectors/
// eager_exact.py, lsh_core.py 'magicpig_baseline', hybrid.py). Query-aware block-wise compression: the
// context is read in blocks of bs tokens and, after each block, the question is probed (at positions
// [S, S+q), right after the whole context) to pick which of the block's tokens stay.
//
// Budget (the authors' run scripts, run_single_sample.py / tests/pred_ruler.py, with keep fraction r =
// 1/ratio and S the context length): append ('accumulate') mode B = ⌊2·r·bs·S/(bs+S)⌋, recursive mode
// B = ⌊r·S⌋; A = W = ⌊B/n⌋ anchors and local window, G = B − 2⌊B/n⌋ chosen per block (the engine refuses
// G ≤ 0, and so does this press, when it first sees S). The first A tokens of the context are always kept;
// the last W tokens of a block are held as a tail and join the next block's candidates. Candidates
// (previous tail + block, minus anchors and this block's window) are scored in two stages (HybridSelector):
//   exact: Σ over layers, query heads and question rows of the question's softmax attention; top ⌊split·G⌋;
//   LSH recall for the rest (see lsh.ts) on the last layer's keys (mean over KV heads), centred by the
//   remaining candidates' mean; with fewer survivors than slots the most recent candidates fill in.
// Chosen tokens are appended to the cache (the same set for every layer and KV head) and never re-scored;
// after the last block the tail is committed. `mode: 'recursive'` is the paper's contrast: a fixed cache of B,
// every non-anchor token re-scored after each block. `ablation` runs the exact or LSH stage alone.
//
// Where the code differs from the paper, this press follows the code: (1) the LSH survivor rule counts, per
// table, a collision with any question token (the union), not with one token in two tables; (2) the recursive
// mode's budget is ⌊r·S⌋, not the accumulate formula; (3) any divisor n ≥ 2 with G > 0 is accepted; (4) a block
// with no candidates of its own (all anchors and window, e.g. a short last block) selects nothing: in recursive
// mode the history is then dropped, as their code does (in append mode their code fails on an empty index
// tensor; here the previous tail is chosen from as in any block). Defaults: K = 10 bits, L = 8 tables and
// split 0.75 as in their LASER-KV configuration (tests/bench_speed.py, README), n = 4, bs = 4096.
// Other differences: they hash in bfloat16 with a torch.randn matrix (here f64, a seeded matrix); ties in
// torch.topk are unordered (here the earlier token wins). Without a question (the engine always has one),
// the prompt's last `fallbackTokens` tokens stand in for it (Press.questionFallback). Checked against their
// code on fixed tensors: test/presses/laserkv-authors.test.ts.
//
// Only probes are scored, each by the attention kernel (`LayerState.attend`): the context's own forward calls
// compute no probabilities. At ratio 1 nothing is compressed.
import { attendOf, attentionPerKvHead } from './attention.js';
import { topKIndices } from './budget.js';
import { gaussianPlanes, lshSelect, type SimHashOptions } from './lsh.js';
import {
  type AttentionObservation,
  type KeepSets,
  type LayerState,
  type Press,
  type StepInfo,
  sameForAllHeads,
} from './press.js';

export interface LaserKvOptions {
  /** Compression ratio 1/r: the context keeps about r of its tokens. */
  ratio: number;
  /** Block size bs in tokens (default 4096). */
  blockSize?: number;
  /** Protection divisor n ≥ 2: A = W = ⌊B/n⌋ (default 4). */
  divisor?: number;
  /** Share of G chosen by exact attention; the rest by LSH recall (default 0.75). */
  split?: number;
  /** SimHash bits per table K (default 10). */
  lshBits?: number;
  /** SimHash tables Lt (default 8). */
  lshTables?: number;
  /** Seed of the SimHash matrix (default 0). */
  seed?: number;
  /** 'append' (the paper's method, default) or 'recursive' (the contrast: fixed cache B, re-scored). */
  mode?: 'append' | 'recursive';
  /** 'hybrid' (default), or only the 'exact' or the 'lsh' stage. */
  ablation?: 'hybrid' | 'exact' | 'lsh';
  /** Without a question: how many of the prompt's last tokens stand in for it (default 32). */
  fallbackTokens?: number;
  /**
   * The SimHash matrix `[headDim][lshBits·lshTables]` to use instead of the seeded one (to replay another
   * implementation's hashes, as the tests do with the authors' code).
   */
  planes?: Float64Array;
}

export interface LaserBudget {
  /** Tokens per block B. */
  B: number;
  /** Anchors A. */
  A: number;
  /** Local window W. */
  W: number;
  /** Chosen per block G. */
  G: number;
}

/**
 * The budget for keep fraction r, block size bs, context length S and divisor n: B = ⌊2·r·bs·S/(bs+S)⌋ in
 * append mode, ⌊r·S⌋ in recursive mode (the authors' run scripts, evaluated in the same order).
 */
export function laserBudget(
  r: number,
  bs: number,
  S: number,
  n: number,
  mode: 'append' | 'recursive' = 'append',
): LaserBudget {
  const B = Math.floor(mode === 'recursive' ? r * S : (2 * r * bs * S) / (bs + S));
  const A = Math.floor(B / n);
  return { B, A, W: A, G: B - 2 * A };
}

/** What the probes of one block left: exact scores and the keys the LSH stage hashes. */
interface Probe {
  /** The question's first position S (= the context length). */
  start: number;
  /** Context tokens in the cache during the probe. */
  n: number;
  /** Exact score per context token, summed over layers, heads and question rows. */
  exact: Float64Array;
  /** Last layer, mean over KV heads: the context tokens' keys `[n][d]` and the question's `[q][d]`. */
  keys?: Float64Array;
  questionKeys?: Float64Array;
  nQuestion: number;
}

export class LaserKvPress implements Press {
  readonly name = 'laserkv';
  readonly wantsQueries = true;
  readonly probeInterval: number | undefined;
  readonly questionFallback: number | undefined;
  readonly ratio: number;
  readonly blockSize: number;
  readonly divisor: number;
  readonly split: number;
  readonly mode: 'append' | 'recursive';
  readonly ablation: 'hybrid' | 'exact' | 'lsh';
  readonly lsh: SimHashOptions;
  private planes: Float64Array | undefined;
  private probe: Probe | undefined;
  /** The decision of the current compression moment, shared by every layer. */
  private decided: Int32Array | undefined;
  /** Committed tokens at the front of every layer's list (append mode). */
  private committed = 0;

  constructor(o: LaserKvOptions) {
    const err = (what: string, v: unknown) => new RangeError(`laserkv: ${what}, got ${v}`);
    if (!(Number.isFinite(o.ratio) && o.ratio >= 1)) throw err('ratio must be a number >= 1', o.ratio);
    this.ratio = o.ratio;
    this.blockSize = o.blockSize ?? 4096;
    this.divisor = o.divisor ?? 4;
    this.split = o.split ?? 0.75;
    this.mode = o.mode ?? 'append';
    this.ablation = o.ablation ?? 'hybrid';
    this.lsh = { bits: o.lshBits ?? 10, tables: o.lshTables ?? 8, seed: o.seed ?? 0 };
    const fallback = o.fallbackTokens ?? 32;
    const whole = (x: number, min: number) => Number.isInteger(x) && x >= min;
    if (!whole(this.blockSize, 1)) throw err('blockSize must be a whole number >= 1', o.blockSize);
    if (!whole(this.divisor, 2)) throw err('divisor must be a whole number >= 2', o.divisor);
    if (!whole(fallback, 1)) throw err('fallbackTokens must be a whole number >= 1', o.fallbackTokens);
    if (!(this.split >= 0 && this.split <= 1)) throw err('split must be in [0, 1]', o.split);
    if (!whole(this.lsh.bits, 1) || !whole(this.lsh.tables, 2))
      throw err('lshBits must be >= 1 and lshTables >= 2 (whole numbers)', `${o.lshBits}, ${o.lshTables}`);
    if (this.mode !== 'append' && this.mode !== 'recursive')
      throw err('mode must be append or recursive', o.mode);
    if (!['hybrid', 'exact', 'lsh'].includes(this.ablation))
      throw err('ablation must be hybrid, exact or lsh', o.ablation);
    this.probeInterval = this.ratio === 1 ? undefined : this.blockSize;
    this.questionFallback = this.ratio === 1 ? undefined : fallback;
    if (o.planes !== undefined) {
      if (o.planes.length % (this.lsh.bits * this.lsh.tables) !== 0)
        throw err('planes must be [headDim][lshBits·lshTables]', o.planes.length);
      this.planes = o.planes;
    }
  }

  reset(): void {
    this.probe = undefined;
    this.decided = undefined;
    this.committed = 0;
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    if (!obs.probe || this.ratio === 1) return;
    if (!this.probe) {
      // The first probe chunk of this block: its first position is S, and its keys follow the context's.
      const start = obs.positions[0];
      const P = state.positions(0);
      let n = state.length(0);
      while (n > 0 && P[n - 1] >= start) n--;
      this.probe = { start, n, exact: new Float64Array(n), nQuestion: 0 };
    }
    const p = this.probe;
    const att = attendOf(state, this.name)(obs.queries, obs.nTokens, obs.positions);
    for (const s of attentionPerKvHead(att, obs.nTokens, state, 0, obs.nTokens, () => p.n))
      for (let j = 0; j < p.n; j++) p.exact[j] += s[j];
    if (layer === state.nLayers - 1) {
      // The cache now also holds the question's keys (this probe chunk's and earlier ones), after the context.
      const all = meanKeys(state, state.length(0));
      p.keys = all.subarray(0, p.n * state.headDim);
      p.questionKeys = all.subarray(p.n * state.headDim);
      p.nQuestion = state.length(0) - p.n;
    }
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (this.ratio === 1 || step.phase === 'decode') return null;
    const p = this.probe;
    // Prefill chunks within a block wait for the block's probe (Context probes after every block).
    if (!p) return null;
    if (!this.decided) this.decided = this.decide(state, step, p);
    const keep = this.decided;
    if (state.layer === state.nLayers - 1) {
      this.probe = undefined;
      this.decided = undefined;
      // After the last block the tail is committed too.
      if (step.prefillDone) this.committed = keep.length;
    }
    return sameForAllHeads(state, keep);
  }

  /** The tokens every layer keeps after a block: anchors, committed, chosen, and the block's window. */
  private decide(state: LayerState, step: StepInfo, p: Probe): Int32Array {
    const { A, W, G, B } = laserBudget(1 / this.ratio, this.blockSize, p.start, this.divisor, this.mode);
    if (G <= 0) {
      this.probe = undefined;
      throw new RangeError(
        `laserkv: a ${p.start}-token context at ratio ${this.ratio} gives B = ${B}, and divisor ${this.divisor} leaves ` +
          `G = B − 2⌊B/n⌋ = ${G} tokens to choose per block (the authors' engine refuses this too): ` +
          'choose another divisor or ratio, or a longer context',
      );
    }
    const n = state.length(0);
    const P = state.positions(0);
    const blockStart = n - step.newTokens;
    const windowStart = Math.max(blockStart, n - W);
    const fixed = this.mode === 'append' ? this.committed : 0;
    const keep: number[] = [];
    const cands: number[] = [];
    for (let i = 0; i < n; i++) {
      if (P[i] < A || i < fixed || i >= windowStart) keep.push(i);
      else cands.push(i);
    }
    // The authors select only when the block has candidates of its own: in recursive mode a block that is
    // all anchors and window keeps nothing of the history (their code); in append mode their code fails
    // there (an empty index tensor), and this press chooses from the previous tail as in any other block.
    const own = cands.length > 0 && cands[cands.length - 1] >= blockStart;
    if (own || this.mode === 'append') for (const i of this.choose(cands, G, p, state.headDim)) keep.push(i);
    const sorted = Int32Array.from(keep).sort();
    if (this.mode === 'append') this.committed = sorted.length - (n - windowStart);
    return sorted;
  }

  /** G of the candidate indices, by exact attention and LSH recall. */
  private choose(cands: number[], G: number, p: Probe, d: number): number[] {
    if (cands.length <= G) return cands;
    const nExact = this.ablation === 'exact' ? G : this.ablation === 'lsh' ? 0 : Math.floor(this.split * G);
    const exact = topKIndices(
      cands.map((i) => p.exact[i]),
      nExact,
    );
    const chosen = Array.from(exact, (k) => cands[k]);
    const taken = new Set(chosen);
    const rest = cands.filter((i) => !taken.has(i));
    chosen.push(...this.recall(rest, G - nExact, p, d));
    return chosen;
  }

  /** The LSH stage: `k` of `rest` (see lshSelect), on the last layer's keys averaged over KV heads. */
  private recall(rest: number[], k: number, p: Probe, d: number): number[] {
    if (k <= 0) return [];
    const { keys, questionKeys } = p;
    if (!keys || !questionKeys) throw new Error('laserkv: the probe did not reach the last layer');
    this.planes ??= gaussianPlanes(d, this.lsh);
    if (this.planes.length !== d * this.lsh.bits * this.lsh.tables)
      throw new RangeError(`laserkv: planes must be [${d}][${this.lsh.bits * this.lsh.tables}]`);
    const x = new Float64Array(rest.length * d);
    rest.forEach((i, r) => {
      x.set(keys.subarray(i * d, (i + 1) * d), r * d);
    });
    const picks = lshSelect(x, rest.length, questionKeys, p.nQuestion, d, k, this.planes, this.lsh);
    return picks.map((r) => rest[r]);
  }
}

/** Keys of the first `n` tokens averaged over KV heads, f64 `[n][headDim]` (heads hold the same tokens). */
function meanKeys(state: LayerState, n: number): Float64Array {
  const d = state.headDim;
  const out = new Float64Array(n * d);
  for (let h = 0; h < state.nKvHeads; h++) {
    const K = state.keys(h);
    for (let i = 0; i < n * d; i++) out[i] += K[i] / state.nKvHeads;
  }
  return out;
}
