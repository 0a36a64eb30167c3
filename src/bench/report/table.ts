// The terminal summary: accuracy per task × press × ratio with the measured kept fraction, KV memory (after
// the context's compression, and peak) and time per sample. Equal-budget rows (--match-kept) show the target
// as "=1/R" and the ratio each press ran at.
import { formatBytes } from '../../cli/progress.js';
import { type SummaryRow, seriesLabel } from './summary.js';

export function summaryTable(rows: readonly SummaryRow[]): string {
  const head = ['task', 'press', 'ratio', 'n', 'accuracy', 'kept', 'KV', 'peak KV', 's/sample'];
  const body = rows.map((r) => [
    r.task,
    seriesLabel(r),
    ratioText(r),
    String(r.samples),
    `${(r.accuracy * 100).toFixed(1)}%`,
    `${(r.keptFraction * 100).toFixed(1)}%`,
    formatBytes(r.kvBytes),
    formatBytes(r.peakKvBytes),
    (r.msPerSample / 1000).toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  // Text columns left-aligned, numbers right-aligned.
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

/** The ratio column: the press's ratio, or for an equal-budget row the target and the mean ratio run at. */
export function ratioText(r: SummaryRow): string {
  if (r.press === 'full') return '1';
  return r.matchKept ? `=1/${r.ratio} (${Number(r.pressRatio.toPrecision(3))})` : String(r.ratio);
}
