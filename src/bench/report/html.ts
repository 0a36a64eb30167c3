// report.html: one self-contained page (inline CSS, SVG and script; nothing fetched) with the summary table,
// accuracy vs ratio per task, needle depth × length heatmaps, KV memory vs ratio, the kept fraction while
// long answers are generated, and the kept-token view.
import { formatBytes } from '../../cli/progress.js';
import type { KeptView } from '../runner/kept.js';
import type { SampleRecord } from '../runner/store.js';
import { accuracyCharts, depthHeatmaps, keptCharts, keptTraceCharts, memoryCharts } from './charts.js';
import { keptSection } from './kept-view.js';
import { seriesLabel, summarize } from './summary.js';
import { colourMap, esc } from './svg.js';
import { ratioText } from './table.js';

export interface ReportInput {
  records: readonly SampleRecord[];
  kept?: KeptView;
  /** Shown in the heading, e.g. the model file's name and its architecture. */
  model: string;
  /** When the report was written (ISO time); a parameter so tests can pin it. */
  date: string;
  /** A note such as "interrupted: 40 of 120 samples". */
  note?: string;
}

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg text { font-size: 11px; fill: #333; } svg text.t { font-size: 13px; font-weight: 600; }
svg text.v { font-size: 10px; fill: #111; } svg line.grid { stroke: #e5e5e5; }
.note { background: #fff4d6; padding: 6px 10px; }
.kv-controls label { margin-right: 16px; }
#kv-text { white-space: pre-wrap; font: 12px/1.5 ui-monospace, monospace; border: 1px solid #ddd; padding: 10px;
  max-height: 560px; overflow: auto; }
#kv-text .ev { color: #999; }
`;

function table(records: readonly SampleRecord[]): string {
  const rows = summarize(records, ['task', 'press', 'mode', 'ratio']);
  const head = ['task', 'press', 'ratio', 'samples', 'accuracy', 'kept', 'KV', 'peak KV', 's/sample'];
  const body = rows.map(
    (r) =>
      `<tr><td>${esc(r.task)}</td><td>${esc(seriesLabel(r))}</td><td>${esc(ratioText(r))}</td><td>${r.samples}</td><td>${(r.accuracy * 100).toFixed(1)}%</td><td>${(r.keptFraction * 100).toFixed(1)}%</td><td>${formatBytes(r.kvBytes)}</td><td>${formatBytes(r.peakKvBytes)}</td><td>${(r.msPerSample / 1000).toFixed(2)}</td></tr>`,
  );
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

/** The kept fraction over generated tokens, for tasks with long answers (none: no section). */
function generating(records: readonly SampleRecord[], colours: Map<string, string>): string[] {
  const charts = keptTraceCharts(records, colours);
  if (charts.length === 0) return [];
  return [
    '<h2 id="generating">Kept fraction while generating</h2>',
    '<p>Tasks with long answers: mean over samples after the question and each generated token. Presses that ' +
      'compress while decoding stay near their budget; one-shot presses grow back towards the full cache.</p>',
    `<div class="charts">${charts.join('')}</div>`,
  ];
}

/** Which budget modes the records use, in words. */
function budgets(records: readonly SampleRecord[]): string {
  const matched = records.some((r) => r.matchKept === true);
  const nominal = records.some((r) => r.press !== 'full' && r.matchKept !== true);
  const parts = [
    nominal ? 'nominal rows ran every press at the ratio shown (presses then keep different shares)' : '',
    matched
      ? 'equal-budget rows (=kept, --match-kept) ran each press at the ratio (in brackets) that makes it keep 1/R of the context'
      : '',
  ].filter(Boolean);
  return parts.length === 0 ? '' : `${parts.join('; ')}.`.replace(/^./, (c) => c.toUpperCase());
}

export function renderReport(input: ReportInput): string {
  const { records } = input;
  const colours = colourMap([...new Set(records.map((r) => r.press))]);
  const heat = depthHeatmaps(records);
  const modes = [...new Set(records.filter((r) => r.press !== 'full').map((r) => r.mode))];
  const sections = [
    `<h1>kvsieve bench: ${esc(input.model)}</h1>`,
    `<p>${records.length} sample runs over ${new Set(records.map((r) => r.task)).size} tasks; compression ${modes.map((m) => `query-${m}`).join(' and ') || 'none'} (query-agnostic: the press compresses the context before the question exists; query-aware: it sees the question first). Every press follows one protocol: the context is compressed (chunk by chunk where the press does that), then the question and the answer go in uncompressed; “kept” is the measured share of the context's (layer, KV head, token) slots kept after its compression. ${budgets(records)} Written ${esc(input.date)}.</p>`,
    input.note ? `<p class="note">${esc(input.note)}</p>` : '',
    '<h2 id="summary">Summary</h2>',
    table(records),
    '<h2 id="accuracy">Accuracy vs compression ratio</h2>',
    `<div class="charts">${accuracyCharts(records, colours).join('')}</div>`,
    '<h2 id="accuracy-kept">Accuracy vs kept fraction</h2>',
    '<p>The same runs placed at the share of the context each press really kept.</p>',
    `<div class="charts">${keptCharts(records, colours).join('')}</div>`,
    '<h2 id="depth">Needle depth × length</h2>',
    heat.length === 0
      ? '<p>No needle tasks in this run.</p>'
      : heat.map((h) => `<h3>${esc(h.task)}</h3><div class="charts">${h.svgs.join('')}</div>`).join(''),
    '<h2 id="memory">KV memory vs compression ratio</h2>',
    '<p>Mean over tasks. The peak includes each prefill chunk (--batch-size tokens) before it is compressed.</p>',
    `<div class="charts">${memoryCharts(records, colours).join('')}</div>`,
    ...generating(records, colours),
    '<h2 id="kept">Kept tokens</h2>',
    keptSection(input.kept, records),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kvsieve bench: ${esc(input.model)}</title><style>${CSS}</style></head>
<body>
${sections.join('\n')}
</body></html>
`;
}
