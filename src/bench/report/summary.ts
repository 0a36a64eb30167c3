// Results grouped for tables, CSV and charts: mean score, kept fraction, peak KV memory and time per group.
// Nominal and equal-budget (--match-kept) runs are never merged: every grouping also keys on the budget mode.
import type { Mode } from '../runner/spec.js';
import type { SampleRecord } from '../runner/store.js';

export type GroupField = 'task' | 'press' | 'mode' | 'ratio' | 'length';

export interface SummaryRow {
  task: string;
  press: string;
  mode: Mode;
  /** The grid's ratio (with matchKept: the target kept fraction is 1/ratio). */
  ratio: number;
  /** Equal-budget rows (--match-kept). */
  matchKept: boolean;
  /** KV storage (absent in results from before cache types). */
  cacheType?: string;
  /** Mean ratio the press ran at (the calibrated one when matched; 1 for the full cache). */
  pressRatio: number;
  /** Present when grouped by length. */
  length?: number;
  samples: number;
  /** Mean score in [0, 1]. */
  accuracy: number;
  keptFraction: number;
  kvBytes: number;
  peakKvBytes: number;
  /** Mean wall time per sample (prefill + generation). */
  msPerSample: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * One row per distinct value of `by`, in the order groups first appear (the grid's order: tasks, then
 * presses as given), ratios ascending within a press.
 */
export function summarize(records: readonly SampleRecord[], by: readonly GroupField[]): SummaryRow[] {
  const groups = new Map<string, SampleRecord[]>();
  for (const r of records) {
    const k = JSON.stringify([r.matchKept === true, r.cacheType ?? '', ...by.map((f) => r[f])]);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const rows = [...groups.values()].map((g): SummaryRow => {
    const r = g[0];
    return {
      task: r.task,
      press: r.press,
      mode: r.mode,
      ratio: r.ratio,
      matchKept: r.matchKept === true,
      ...(r.cacheType ? { cacheType: r.cacheType } : {}),
      pressRatio: mean(g.map((x) => x.pressRatio ?? 1)),
      ...(by.includes('length') ? { length: r.length } : {}),
      samples: g.length,
      accuracy: mean(g.map((x) => x.score)),
      keptFraction: mean(g.map((x) => x.keptFraction)),
      kvBytes: mean(g.map((x) => x.kvBytes)),
      peakKvBytes: mean(g.map((x) => x.peakKvBytes)),
      msPerSample: mean(g.map((x) => x.prefillMs + x.decodeMs)),
    };
  });
  const order = (f: 'task' | 'press') => [...new Set(records.map((r) => r[f]))];
  const tasks = order('task');
  const presses = order('press');
  return rows.sort(
    (a, b) =>
      tasks.indexOf(a.task) - tasks.indexOf(b.task) ||
      presses.indexOf(a.press) - presses.indexOf(b.press) ||
      a.mode.localeCompare(b.mode) ||
      Number(a.matchKept) - Number(b.matchKept) ||
      a.ratio - b.ratio ||
      (a.length ?? 0) - (b.length ?? 0),
  );
}

/**
 * How a press run is named everywhere in the report: the full cache needs no mode, the rest say theirs, and
 * equal-budget runs say so ("=kept").
 */
export function seriesLabel(r: {
  press: string;
  mode: Mode;
  matchKept?: boolean;
  cacheType?: string;
}): string {
  // The cache's storage is named unless it is the default (f16).
  const cache = r.cacheType === undefined || r.cacheType === 'f16' ? '' : ` [${r.cacheType}]`;
  return r.press === 'full'
    ? `full${cache}`
    : `${r.press} (${r.mode}${r.matchKept ? ', =kept' : ''})${cache}`;
}
