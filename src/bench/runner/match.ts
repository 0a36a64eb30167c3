// Equal budgets (`kvsieve bench --match-kept`): at the same nominal ratio the presses keep different shares of
// the context (LagKV never compresses its sink and last partition, LASER-KV's B depends on the block size), so
// comparing them by ratio compares unequal budgets. Here each press is calibrated to keep a target fraction of
// the context: the ratio it runs at is searched so that its measured kept fraction is the target's (as near as
// its own arithmetic allows; LagKV cannot go below its sink + last partition).
//
// How many tokens a press keeps does not depend on what the tokens are (every press keeps exact counts, or
// counts fixed by its schedule), only on the context length, the question's length, the prefill chunking and
// the cache's shape. So the search runs on a stand-in: a random-weight model with the real model's layers, KV
// heads, context length and chunk size but tiny widths, through the same Context.prefill as the benchmark.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType } from '../../gguf/types.js';
import { Model } from '../../model/model.js';
import { writeSyntheticModel } from '../../model/synthetic.js';
import type { PressSpec } from '../../presses/index.js';
import type { Mode } from './spec.js';

/** A press calibrated for one context: the ratio it runs at and the fraction it keeps there. */
export interface Calibration {
  ratio: number;
  keptFraction: number;
}

/** Steps of the search; each is one prefill of the stand-in. */
const MAX_STEPS = 24;

export class KeptMatcher {
  private standIn: Promise<Model> | undefined;
  private dir: string | undefined;
  private readonly cache = new Map<string, Calibration>();
  /** Per press, target, question length and mode: the ratio the last calibration found. */
  private readonly last = new Map<string, number>();
  /** Prefills of the stand-in so far (for tests and the log). */
  trials = 0;

  constructor(private readonly model: Model) {}

  private load(): Promise<Model> {
    this.standIn ??= (async () => {
      const c = this.model.config;
      this.dir = mkdtempSync(join(tmpdir(), 'kvsieve-match-'));
      const path = join(this.dir, 'stand-in.gguf');
      writeSyntheticModel(path, {
        arch: 'llama',
        // Head width 4: the narrowest the SIMD attention kernel takes.
        dim: 4 * c.nKvHeads,
        nLayers: c.nLayers,
        nHeads: c.nKvHeads,
        nKvHeads: c.nKvHeads,
        headDim: 4,
        ffnDim: 4,
        vocabSize: 260,
        contextLength: c.contextLength,
        type: GgmlType.F32,
        tiedOutput: true,
        seed: 1,
      });
      return Model.load(path, { threads: 1, batchSize: this.model.transformer.maxBatch });
    })();
    return this.standIn;
  }

  /** The kept fraction of `spec` at `ratio` after a prefill of `contextTokens` (+ a question when aware). */
  async keptAt(spec: PressSpec, ratio: number, contextTokens: number, questionTokens: number, mode: Mode) {
    const standIn = await this.load();
    const ctx = standIn.createContext({ press: { ...spec, ratio } });
    const ids = (n: number, from: number) => Array.from({ length: n }, (_, i) => 3 + ((from + i * 7) % 250));
    try {
      this.trials++;
      await ctx.prefill(ids(contextTokens, 0), {
        question: mode === 'aware' ? ids(questionTokens, 1) : undefined,
      });
      return ctx.keptFraction;
    } finally {
      ctx.dispose();
    }
  }

  /**
   * The ratio at which `spec` keeps the fraction nearest to `target` of a `contextTokens`-token context
   * (within two tokens per head when it can). Kept fractions fall as the ratio grows, though not strictly
   * (LASER-KV's G = B − 2⌊B/n⌋ steps back when ⌊B/n⌋ steps up): the search brackets the target, halves the
   * bracket in log ratio, and returns the nearest ratio it met.
   */
  async calibrate(
    spec: PressSpec,
    target: number,
    contextTokens: number,
    questionTokens: number,
    mode: Mode,
  ): Promise<Calibration> {
    const key = JSON.stringify([spec, target, contextTokens, questionTokens, mode]);
    const known = this.cache.get(key);
    if (known) return known;
    // Within two tokens per head of the target is a match.
    const tol = 2 / contextTokens;
    let best: Calibration | undefined;
    let steps = 0;
    // A ratio the press refuses for this context (LASER-KV with nothing left to choose) counts as keeping
    // nothing: beyond the target.
    const at = async (ratio: number): Promise<number> => {
      let keptFraction: number;
      try {
        keptFraction = await this.keptAt(spec, ratio, contextTokens, questionTokens, mode);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        keptFraction = Number.NEGATIVE_INFINITY;
      }
      steps++;
      if (!best || Math.abs(keptFraction - target) < Math.abs(best.keptFraction - target))
        best = { ratio, keptFraction };
      return keptFraction;
    };
    const done = () =>
      (best !== undefined && Math.abs(best.keptFraction - target) <= tol) || steps >= MAX_STEPS;
    // Bracket: lo keeps at least the target, hi at most, starting from the ratio the last context of this
    // press and target needed (the samples of a grid differ by a few tokens). A press whose fraction stops
    // falling (LagKV at ⌊L/ratio⌋ = 0) cannot reach a smaller target: its nearest is where it stopped.
    const warm = JSON.stringify([spec, target, questionTokens, mode]);
    let lo = 1;
    let hi = this.last.get(warm) ?? 1 / target;
    let f = await at(hi);
    if (!done() && f > target) {
      let still = 0;
      let step = this.last.has(warm) ? 1.1 : Math.max(2, f / target);
      while (!done() && f > target && still < 2) {
        lo = hi;
        hi *= step;
        step = Math.max(2, step);
        const g = await at(hi);
        still = g === f ? still + 1 : 0;
        f = g;
      }
    } else if (!done() && f < target && this.last.has(warm)) {
      // Down from a warm start until the fraction is at least the target again (ratio 1 keeps everything).
      let down = hi / 1.1;
      while (!done() && down > 1 && (await at(down)) < target) {
        hi = down;
        down = Math.max(1, down / 2);
      }
      lo = Math.max(1, down);
    }
    if (f < target) {
      // Until the bracket is 1% wide: kept fractions are steps (LagKV's ⌊L/ratio⌋, LASER-KV's B about 0.2%
      // apart at 4k tokens), so narrower would gain at most a few tokens.
      while (!done() && hi > lo * 1.01) {
        const mid = Math.sqrt(lo * hi);
        if ((await at(mid)) > target) lo = mid;
        else hi = mid;
      }
    }
    const out = best as Calibration;
    this.cache.set(key, out);
    this.last.set(warm, out.ratio);
    return out;
  }

  async close(): Promise<void> {
    if (this.standIn) await (await this.standIn).close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.standIn = undefined;
    this.dir = undefined;
  }
}
