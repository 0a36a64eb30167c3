// The report's charts from the sample records: accuracy vs ratio and accuracy vs measured kept fraction per
// task (at the same nominal ratio presses keep different shares, so the second compares equal budgets), needle
// depth × length heatmaps per press and ratio, and peak KV memory vs ratio per length. The full cache is a
// dashed reference line.
import { formatBytes } from '../../cli/progress.js';
import { formatLength } from '../runner/spec.js';
import type { SampleRecord } from '../runner/store.js';
import { seriesLabel, summarize } from './summary.js';
import { heatmap, lineChart, type Series } from './svg.js';

function seriesOf(
  rows: {
    press: string;
    mode: SampleRecord['mode'];
    matchKept?: boolean;
    ratio: number;
    y: number;
    x?: number;
  }[],
  colours: Map<string, string>,
): Series[] {
  const by = new Map<string, Series>();
  for (const r of rows) {
    const label = seriesLabel(r);
    let s = by.get(label);
    if (!s) {
      const colour = colours.get(r.press) ?? '#444444';
      const [reference, dotted, dashed] = [r.press === 'full', r.mode === 'aware', r.matchKept === true];
      s = { label, colour, points: [], reference, dotted, dashed };
      by.set(label, s);
    }
    s.points.push([r.x ?? r.ratio, r.y]);
  }
  return [...by.values()];
}

export function accuracyCharts(records: readonly SampleRecord[], colours: Map<string, string>): string[] {
  const rows = summarize(records, ['task', 'press', 'mode', 'ratio']);
  return [...new Set(rows.map((r) => r.task))].map((task) =>
    lineChart({
      title: `${task}: accuracy vs ratio`,
      xLabel: 'compression ratio',
      yLabel: 'accuracy',
      yMax: 1,
      formatY: (y) => `${Math.round(y * 100)}%`,
      series: seriesOf(
        rows.filter((r) => r.task === task).map((r) => ({ ...r, y: r.accuracy })),
        colours,
      ),
    }),
  );
}

/** Kept-fraction ticks: halvings of 100% down to the smallest measured fraction. */
function keptTicks(xs: number[]): number[] {
  const min = Math.min(...xs, 1);
  const ticks = [1];
  while (ticks[ticks.length - 1] / 2 >= min * 0.99) ticks.push(ticks[ticks.length - 1] / 2);
  return ticks.reverse();
}

const percent = (x: number) => `${Number((x * 100).toPrecision(3))}%`;

/** Per task: accuracy against the measured kept fraction (mean per press run), the full cache at 100%. */
export function keptCharts(records: readonly SampleRecord[], colours: Map<string, string>): string[] {
  const rows = summarize(records, ['task', 'press', 'mode', 'ratio']);
  return [...new Set(rows.map((r) => r.task))].map((task) => {
    const here = rows.filter((r) => r.task === task);
    return lineChart({
      title: `${task}: accuracy vs kept fraction`,
      xLabel: 'measured kept fraction of the context',
      yLabel: 'accuracy',
      yMax: 1,
      formatY: (y) => `${Math.round(y * 100)}%`,
      formatX: percent,
      xTicks: keptTicks(here.map((r) => r.keptFraction)),
      series: seriesOf(
        here.map((r) => ({ ...r, y: r.accuracy, x: r.keptFraction })),
        colours,
      ),
    });
  });
}

/** Per length: the cache after the context's compression, and its peak (which includes a prefill chunk). */
export function memoryCharts(records: readonly SampleRecord[], colours: Map<string, string>): string[] {
  const rows = summarize(records, ['press', 'mode', 'ratio', 'length']);
  const lengths = [...new Set(rows.map((r) => r.length as number))].sort((a, b) => a - b);
  return lengths.flatMap((length) => {
    const here = rows.filter((r) => r.length === length);
    const yMax = Math.max(...here.map((r) => r.peakKvBytes)) * 1.05;
    const chart = (field: 'kvBytes' | 'peakKvBytes', title: string) =>
      lineChart({
        title: `${title} at ${formatLength(length)} tokens`,
        xLabel: 'compression ratio',
        yLabel: 'bytes',
        yMax,
        formatY: formatBytes,
        series: seriesOf(
          here.map((r) => ({ ...r, y: r[field] })),
          colours,
        ),
      });
    return [chart('kvBytes', 'KV cache after compression'), chart('peakKvBytes', 'peak KV cache')];
  });
}

/** Tasks whose answers run long enough (≥ 32 generated tokens in some run) to chart the cache while generating. */
const LONG_ANSWER = 32;

/**
 * Per task with long answers and per ratio: the kept fraction over the generated tokens, each press's mean over
 * its samples (at each token count, over the runs that got that far); the full cache is the dashed line at 100%.
 */
export function keptTraceCharts(records: readonly SampleRecord[], colours: Map<string, string>): string[] {
  const traced = records.filter((r) => (r.keptTrace?.length ?? 0) > 0);
  const tasks = [...new Set(traced.map((r) => r.task))].filter((t) =>
    traced.some((r) => r.task === t && (r.keptTrace?.length ?? 0) >= LONG_ANSWER),
  );
  return tasks.flatMap((task) => {
    const mine = traced.filter((r) => r.task === task);
    const ratios = [...new Set(mine.filter((r) => r.press !== 'full').map((r) => r.ratio))].sort(
      (a, b) => a - b,
    );
    return ratios.map((ratio) => {
      const runs = summarize(
        mine.filter((r) => r.press === 'full' || r.ratio === ratio),
        ['press', 'mode'],
      );
      const series = runs.map((run) => {
        const of = mine.filter(
          (r) => r.press === run.press && r.mode === run.mode && (r.press === 'full' || r.ratio === ratio),
        );
        const longest = Math.max(...of.map((r) => r.keptTrace?.length ?? 0));
        const points: [number, number][] = [];
        for (let i = 0; i < longest; i++) {
          const at = of.flatMap((r) => (r.keptTrace && i < r.keptTrace.length ? [r.keptTrace[i]] : []));
          points.push([i, at.reduce((a, b) => a + b, 0) / at.length]);
        }
        return {
          label: seriesLabel(run),
          colour: colours.get(run.press) ?? '#444444',
          points,
          reference: run.press === 'full',
          dotted: run.mode === 'aware',
        };
      });
      return lineChart({
        title: `${task} at ${ratio}×: kept fraction while generating`,
        xLabel: 'generated tokens',
        yLabel: 'kept fraction',
        yMax: 1,
        formatY: (y) => `${Math.round(y * 100)}%`,
        linearX: true,
        formatX: (x) => String(x),
        series,
      });
    });
  });
}

/** Requested depth, or the needle's real depth to the nearest tenth when the task placed it. */
function depthBucket(r: SampleRecord): number | null {
  if (r.depth !== null) return r.depth;
  return r.needleDepth === null ? null : Math.round(r.needleDepth * 10) / 10;
}

/** Per needle task, one heatmap per press run: rows are depths, columns lengths, cells mean scores. */
export function depthHeatmaps(records: readonly SampleRecord[]): { task: string; svgs: string[] }[] {
  const needle = records.filter((r) => depthBucket(r) !== null);
  return [...new Set(needle.map((r) => r.task))].map((task) => {
    const mine = needle.filter((r) => r.task === task);
    const depths = [...new Set(mine.map((r) => depthBucket(r) as number))].sort((a, b) => a - b);
    const lengths = [...new Set(mine.map((r) => r.length))].sort((a, b) => a - b);
    const runs = summarize(mine, ['press', 'mode', 'ratio']);
    const svgs = runs.map((run) => {
      const of = mine.filter((r) => r.press === run.press && r.mode === run.mode && r.ratio === run.ratio);
      const values = depths.map((d) =>
        lengths.map((len) => {
          const cell = of.filter((r) => r.length === len && depthBucket(r) === d);
          return cell.length === 0 ? null : cell.reduce((a, r) => a + r.score, 0) / cell.length;
        }),
      );
      return heatmap({
        title: run.press === 'full' ? 'full' : `${seriesLabel(run)} ${run.ratio}×`,
        rowLabel: 'depth',
        colLabel: 'length',
        rows: depths.map((d) => `${Math.round(d * 100)}%`),
        cols: lengths.map(formatLength),
        values,
      });
    });
    return { task, svgs };
  });
}
