// Writes a run's report files: report.html (self-contained) and summary.csv.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summaryCsv } from './csv.js';
import { type ReportInput, renderReport } from './html.js';
import { summarize } from './summary.js';

export { CSV_COLUMNS, summaryCsv } from './csv.js';
export { type ReportInput, renderReport } from './html.js';
export { type SummaryRow, seriesLabel, summarize } from './summary.js';
export { summaryTable } from './table.js';

export const REPORT_FILE = 'report.html';
export const CSV_FILE = 'summary.csv';

export function writeReport(outDir: string, input: ReportInput): { html: string; csv: string } {
  const html = join(outDir, REPORT_FILE);
  const csv = join(outDir, CSV_FILE);
  writeFileSync(html, renderReport(input));
  writeFileSync(csv, summaryCsv(summarize(input.records, ['task', 'press', 'mode', 'ratio', 'length'])));
  return { html, csv };
}
