// summary.csv: one row per task × press × mode × budget mode × ratio × length (RFC 4180 quoting). `budget` is
// nominal (the press ran at `ratio`) or matched (--match-kept: calibrated to keep 1/ratio, at `press_ratio`).
import type { SummaryRow } from './summary.js';

export const CSV_COLUMNS = [
  'task',
  'press',
  'mode',
  'budget',
  'cache_type',
  'ratio',
  'press_ratio',
  'length',
  'samples',
  'accuracy',
  'kept_fraction',
  'kv_bytes',
  'peak_kv_bytes',
  'ms_per_sample',
] as const;

function cell(v: string | number | undefined): string {
  const s = v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function summaryCsv(rows: readonly SummaryRow[]): string {
  const lines = rows.map((r) =>
    [
      r.task,
      r.press,
      r.mode,
      r.matchKept ? 'matched' : 'nominal',
      r.cacheType ?? '',
      r.ratio,
      Number(r.pressRatio.toFixed(4)),
      r.length,
      r.samples,
      r.accuracy.toFixed(4),
      r.keptFraction.toFixed(4),
      Math.round(r.kvBytes),
      Math.round(r.peakKvBytes),
      r.msPerSample.toFixed(1),
    ]
      .map(cell)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...lines].join('\n')}\n`;
}
