// KVzip (Kim et al. 2025, arXiv 2505.23416, "KVzip: Query-Agnostic KV Cache Compression with Context
// Reconstruction"; the authors' snu-mllab/KVzip and kvpress's KVzipPress, which this follows). Query-agnostic:
// after the prompt, the model is asked to repeat it, and a KV pair matters as much as the most any query of that
// reconstruction attends to it. The prompt is cut into chunks of 2048 tokens; chunk i is reconstructed by the
// probe "\n\nRepeat the previous context exactly." (i = 0) or "\n\nRepeat the part of the previous context
// exactly, starting with" + the last 8 tokens of chunk i − 1, then "\n" (the suffix kvpress uses without a
// chat template) and the chunk itself, run right after the prompt and taken out again. Each probe query's
// softmax covers only the first n_sink = 4 cache entries (those before the chunk), the chunk's keys and the
// probe's own keys (causally); a chunk token scores the maximum of its probability over the probe's queries and
// the KV head's query heads. Then one top-k over every layer and KV head (layerwise: over the heads of each
// layer) keeps the budget's total, so layers and heads keep different counts.
//
// The context runs the probes (Press.reconstructionProbes) and shows their queries; their attention comes from
// the attention kernel over the whole cache, restricted to the chunk, the sinks and the probe by renormalising
// (a softmax over a subset is the full softmax divided by the subset's mass). The forward pass computes those
// probabilities for the probes only (wantsProbs while probing): heads × 256 queries × keys floats per forward
// call, as H2O asks for every call (some 1 GB at 32k tokens with 32 heads). The reconstruction runs the prompt
// through the model a second time: measured 4× the full cache's prefill CPU time (the paper: 2-3×). KVzip+'s
// normalisation needs the output projection, which a press does not see (not implemented). The chunk shrinks
// to fit when the context has no room after the prompt for 2048 more positions. Tokens from earlier prefills
// (a conversation's previous turns) are kept as they are and count against the budget.
import { attendOf, queryWidth } from './attention.js';
import { Budget, type BudgetOptions } from './budget.js';
import type { AttentionObservation, KeepSets, LayerState, Press, StepInfo } from './press.js';

export interface KvzipOptions extends BudgetOptions {
  /** Leading cache entries in every probe's softmax (default 4). */
  nSink?: number;
  /** Prompt tokens per reconstruction chunk (default 2048). */
  chunkSize?: number;
  /** Share the budget within each layer only, not across layers (default false). */
  layerwise?: boolean;
}

export const KVZIP_FIRST = '\n\nRepeat the previous context exactly.';
export const KVZIP_NEXT = '\n\nRepeat the part of the previous context exactly, starting with';
export const KVZIP_SUFFIX = '\n';
/** Tokens of the previous chunk that start the next chunk's request. */
const PREV_POSTFIX = 8;

interface Chunk {
  /** Positions [start, end) of the prompt tokens it reconstructs. */
  start: number;
  end: number;
  /** Probe tokens. */
  length: number;
}

export class KvzipPress implements Press {
  readonly name = 'kvzip';
  readonly wantsQueries = true;
  readonly nSink: number;
  readonly chunkSize: number;
  readonly layerwise: boolean;
  private readonly budget: Budget;
  private chunks: Chunk[] = [];
  /** First position of the prompt being compressed. */
  private start = 0;
  /** Per layer: probe tokens seen, and per KV head the score of each prompt token (by position − start). */
  private fed = new Map<number, number>();
  private scores = new Map<number, Float64Array[]>();
  /** Per layer and KV head: tokens held from before the prompt (kept, counted against the budget). */
  private older = new Map<number, number[]>();
  /** The decision for every layer, made when the first layer is compressed. */
  private decided: Map<number, KeepSets> | undefined;

  constructor(o: KvzipOptions) {
    this.budget = new Budget(o, 'kvzip');
    this.nSink = o.nSink ?? 4;
    this.chunkSize = o.chunkSize ?? 2048;
    this.layerwise = o.layerwise ?? false;
    if (!Number.isInteger(this.nSink) || this.nSink < 0)
      throw new RangeError(`kvzip: nSink must be a whole number >= 0, got ${o.nSink}`);
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1)
      throw new RangeError(`kvzip: chunkSize must be a whole number >= 1, got ${o.chunkSize}`);
  }

  /** Probabilities from the forward pass itself, for the probes only (the prompt's own calls need none). */
  get wantsProbs(): boolean {
    return this.chunks.length > 0;
  }

  reset(): void {
    this.chunks = [];
    this.fed.clear();
    this.scores.clear();
    this.older.clear();
    this.decided = undefined;
  }

  /** The reconstruction probes for `prompt` (at positions from `start`), with `room` positions free after it. */
  reconstructionProbes(
    prompt: readonly number[],
    o: { start: number; room: number; encode: (text: string) => number[] },
  ): number[][] {
    this.reset();
    this.start = o.start;
    const first = o.encode(KVZIP_FIRST);
    const next = o.encode(KVZIP_NEXT);
    const suffix = o.encode(KVZIP_SUFFIX);
    const overhead = Math.max(first.length, next.length + PREV_POSTFIX) + suffix.length;
    const size = Math.min(this.chunkSize, o.room - overhead);
    if (size < 1)
      throw new RangeError(
        `kvzip: no room after the prompt to reconstruct it (${o.room} positions left, ${overhead} needed for the request)`,
      );
    const probes: number[][] = [];
    for (let at = 0; at < prompt.length; at += size) {
      const chunk = prompt.slice(at, at + size);
      const ask = at === 0 ? first : [...next, ...prompt.slice(Math.max(0, at - PREV_POSTFIX), at)];
      const probe = [...ask, ...suffix, ...chunk];
      probes.push(probe);
      this.chunks.push({ start: o.start + at, end: o.start + at + chunk.length, length: probe.length });
    }
    return probes;
  }

  observe(layer: number, obs: AttentionObservation, state: LayerState): void {
    if (!obs.probe || this.chunks.length === 0) return;
    const fed = this.fed.get(layer) ?? 0;
    this.fed.set(layer, fed + obs.nTokens);
    let k = 0;
    for (let before = 0; k < this.chunks.length && before + this.chunks[k].length <= fed; k++)
      before += this.chunks[k].length;
    const chunk = this.chunks[k];
    if (!chunk) return;
    // The probes run right after the prompt: their keys are the positions from its end on.
    const probeStart = this.chunks[this.chunks.length - 1].end;
    const positions = Array.from({ length: state.nKvHeads }, (_, h) => state.positions(h));
    let scores = this.scores.get(layer);
    let older = this.older.get(layer);
    if (!scores || !older) {
      scores = Array.from({ length: state.nKvHeads }, () => new Float64Array(probeStart - this.start));
      older = positions.map((P) => {
        let m = 0;
        while (m < P.length && P[m] < this.start) m++;
        return m;
      });
      this.scores.set(layer, scores);
      this.older.set(layer, older);
    }
    const width = queryWidth(state);
    const g = state.groupSize;
    // The forward pass's probabilities when it computed them; else the attention kernel's, in batches of
    // queries so that heads × queries × keys stays within 16M floats.
    const maxKeys = Math.max(...positions.map((p) => p.length));
    const batch = obs.probs ? obs.nTokens : Math.max(1, Math.floor(2 ** 24 / (state.nKvHeads * g * maxKeys)));
    for (let q0 = 0; q0 < obs.nTokens; q0 += batch) {
      const nq = Math.min(batch, obs.nTokens - q0);
      const att = obs.probs
        ? { probs: obs.probs, maxKeys: obs.maxKeys }
        : attendOf(state, this.name)(
            obs.queries.subarray(q0 * width, (q0 + nq) * width),
            nq,
            obs.positions.subarray(q0, q0 + nq),
          );
      for (let h = 0; h < state.nKvHeads; h++) {
        const P = positions[h];
        const S = scores[h];
        // Entries in position order: older tokens, the prompt (whole until KVzip compresses), the probe. The
        // sinks are the first n_sink entries before the chunk (none for a first prompt's first chunk).
        const c0 = older[h] + chunk.start - this.start;
        const c1 = older[h] + chunk.end - this.start;
        const p0 = older[h] + probeStart - this.start;
        if (P[c0] !== chunk.start || P[c1 - 1] !== chunk.end - 1)
          throw new Error('kvzip: the prompt must be whole in the cache while it is reconstructed');
        const sinks = Math.min(this.nSink, c0);
        const first = chunk.start - this.start;
        for (let qh = h * g; qh < (h + 1) * g; qh++)
          for (let t = 0; t < nq; t++) {
            const row = att.probs.subarray((qh * nq + t) * att.maxKeys, (qh * nq + t + 1) * att.maxKeys);
            let mass = 0;
            for (let j = 0; j < sinks; j++) mass += row[j];
            for (let j = c0; j < c1; j++) mass += row[j];
            for (let j = p0; j < P.length; j++) mass += row[j];
            if (mass <= 0) continue;
            for (let j = c0; j < c1; j++) {
              const v = row[j] / mass;
              if (v > S[first + j - c0]) S[first + j - c0] = v;
            }
          }
      }
    }
  }

  compress(state: LayerState, step: StepInfo): KeepSets | null {
    if (!step.prefillDone || this.scores.size === 0) return null;
    this.decided ??= this.decide(state);
    const keep = this.decided.get(state.layer) ?? null;
    if (state.layer === state.nLayers - 1) this.reset();
    return keep;
  }

  /**
   * One top-k over every (layer, KV head, prompt token) score, or per layer when layerwise, keeping the budget's
   * total minus the tokens held from before the prompt. Ties: lower layer, lower head, earlier token.
   */
  private decide(state: LayerState): Map<number, KeepSets> {
    const decided = new Map<number, KeepSets>();
    const target = this.budget.target(state.seen);
    const layers = [...this.scores.keys()].sort((a, b) => a - b);
    const groups = this.layerwise ? layers.map((l) => [l]) : [layers];
    for (const group of groups) {
      let older = 0;
      let total = 0;
      for (const l of group) {
        for (const m of this.older.get(l) ?? []) older += m;
        for (const s of this.scores.get(l) ?? []) total += s.length;
      }
      const heads = state.nKvHeads;
      const keepCount = Math.max(0, group.length * heads * target - older);
      if (keepCount >= total) continue;
      const all: { l: number; h: number; i: number; s: number }[] = [];
      for (const l of group)
        (this.scores.get(l) ?? []).forEach((s, h) => {
          for (let i = 0; i < s.length; i++) all.push({ l, h, i, s: s[i] });
        });
      all.sort((a, b) => b.s - a.s || a.l - b.l || a.h - b.h || a.i - b.i);
      const chosen = new Map<number, number[][]>(
        group.map((l) => [l, Array.from({ length: heads }, () => [])]),
      );
      for (const { l, h, i } of all.slice(0, keepCount)) chosen.get(l)?.[h].push(i);
      for (const l of group) {
        const older = this.older.get(l) ?? [];
        decided.set(
          l,
          (chosen.get(l) ?? []).map((idx, h) => {
            // Indices into the head's list: its older tokens first, then the prompt's in position order.
            const m = older[h] ?? 0;
            const out = Int32Array.from({ length: m + idx.length }, (_, j) => j);
            idx
              .sort((a, b) => a - b)
              .forEach((i, j) => {
                out[m + j] = m + i;
              });
            return out;
          }),
        );
      }
    }
    return decided;
  }
}
