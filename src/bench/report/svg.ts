// Inline SVG charts drawn by hand (the report must open offline: no chart library, no CDN): a line chart with
// a log-2 x axis (compression ratios, or kept fractions) or a linear one (e.g. generated tokens), and a heatmap.

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
  '#393b79',
  '#ad494a',
];

/** One colour per press, the same in every chart of a report (the full cache black). */
export function colourMap(presses: readonly string[]): Map<string, string> {
  const others = presses.filter((p) => p !== 'full');
  return new Map([
    ['full', '#000000'],
    ...others.map((p, i): [string, string] => [p, PALETTE[i % PALETTE.length]]),
  ]);
}

export interface Series {
  label: string;
  colour: string;
  /** [x, y] points, x > 0. */
  points: [number, number][];
  /** Drawn as a dashed line across the whole x range at its (only) y: a reference such as the full cache. */
  reference?: boolean;
  /** Dotted: the query-aware run of a press (the same colour as its query-agnostic one). */
  dotted?: boolean;
  /** Dashed: an equal-budget run (--match-kept) of a press (dash-dotted when also query-aware). */
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yMax: number;
  formatY: (y: number) => string;
  /** A linear x axis with about five ticks (default: log-2, for compression ratios and kept fractions). */
  linearX?: boolean;
  /** x tick labels (default `R×`, for ratios). */
  formatX?: (x: number) => string;
  /** Where the x ticks go (default: at every x of the data, or five round values on a linear axis). */
  xTicks?: number[];
}

const PLOT_W = 232;
const H = 250;
const M = { left: 78, right: 170, top: 28, bottom: 40 };

/** A series' line style: solid, dotted (aware), dashed (equal budget), dash-dotted (both). */
function dash(s: Series): string {
  const pattern = s.dashed ? (s.dotted ? '7 3 2 3' : '7 3') : s.dotted ? '2 3' : '';
  return pattern ? ` stroke-dasharray="${pattern}"` : '';
}

export function lineChart(c: LineChart): string {
  const data = [...new Set(c.series.filter((s) => !s.reference).flatMap((s) => s.points.map((p) => p[0])))];
  const xs = [...data, ...(c.xTicks ?? [])].sort((a, b) => a - b);
  if (xs.length === 0) xs.push(1);
  const scale = c.linearX ? (x: number) => x : Math.log2;
  const formatX = c.formatX ?? ((x: number) => `${x}×`);
  const lo = scale(xs[0]);
  const hi = scale(xs[xs.length - 1]);
  // Tall enough for the legend when many presses are compared.
  const h = Math.max(H, M.top + c.series.length * 16 + 10);
  // The legend takes what its longest label needs (about 6.5 px a character at 11 px).
  const right = Math.max(M.right, 40 + Math.ceil(6.5 * Math.max(0, ...c.series.map((s) => s.label.length))));
  const W = M.left + PLOT_W + right;
  const pw = PLOT_W;
  const ph = h - M.top - M.bottom;
  const sx = (x: number) => M.left + (hi === lo ? pw / 2 : ((scale(x) - lo) / (hi - lo)) * pw);
  const yMax = c.yMax > 0 ? c.yMax : 1;
  const sy = (y: number) => M.top + ph - (Math.min(y, yMax) / yMax) * ph;
  const out: string[] = [
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img">`,
    `<title>${esc(c.title)}</title>`,
    `<text x="${M.left}" y="16" class="t">${esc(c.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(y)}" y2="${sy(y)}" class="grid"/>`,
      `<text x="${M.left - 6}" y="${sy(y) + 4}" text-anchor="end">${esc(c.formatY(y))}</text>`,
    );
  }
  const ticks = c.xTicks ?? (c.linearX ? linearTicks(xs[0], xs[xs.length - 1]) : xs);
  for (const x of ticks)
    out.push(`<text x="${sx(x)}" y="${M.top + ph + 16}" text-anchor="middle">${esc(formatX(x))}</text>`);
  out.push(
    `<text x="${M.left + pw / 2}" y="${h - 6}" text-anchor="middle">${esc(c.xLabel)}</text>`,
    `<text transform="translate(12 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`,
  );
  for (const s of c.series) {
    if (s.reference) {
      const y = sy(s.points[0]?.[1] ?? 0);
      out.push(
        `<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="${s.colour}" stroke-dasharray="5 4" stroke-width="1.5"><title>${esc(s.label)}: ${esc(c.formatY(s.points[0]?.[1] ?? 0))}</title></line>`,
      );
      continue;
    }
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    out.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="2"${dash(s)} points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
    );
    // A dense linear series (one point per generated token) is a line without markers.
    if (!c.linearX || pts.length <= 12)
      for (const [x, y] of pts)
        out.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.colour}"><title>${esc(s.label)} ${esc(formatX(x))}: ${esc(c.formatY(y))}</title></circle>`,
        );
  }
  c.series.forEach((s, i) => {
    const y = M.top + 6 + i * 16;
    const x = W - right + 12;
    out.push(
      `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${s.colour}" stroke-width="2"${s.reference ? ' stroke-dasharray="5 4"' : dash(s)}/>`,
      `<text x="${x + 24}" y="${y + 4}">${esc(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

/** About five round tick values covering [lo, hi]. */
export function linearTicks(lo: number, hi: number): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) as number;
  const out: number[] = [];
  for (let x = Math.ceil(lo / step) * step; x <= hi + 1e-9; x += step) out.push(x);
  return out;
}

export interface Heatmap {
  title: string;
  rowLabel: string;
  colLabel: string;
  rows: string[];
  cols: string[];
  /** `[row][col]` in [0, 1], null for no data. */
  values: (number | null)[][];
}

/** Red (0) through yellow to green (1). */
export function scoreColour(v: number): string {
  const stops = [
    [215, 48, 39],
    [254, 224, 139],
    [26, 152, 80],
  ];
  const t = Math.max(0, Math.min(1, v)) * 2;
  const i = Math.min(1, Math.floor(t));
  const f = t - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c.join(',')})`;
}

export function heatmap(h: Heatmap): string {
  const cell = 34;
  const left = 58;
  const top = 30;
  // Wide enough for the title (about 8 px a character at 13 px bold).
  const w = Math.max(left + h.cols.length * cell + 10, h.title.length * 8 + 8);
  const ht = top + h.rows.length * cell + 34;
  const out: string[] = [
    `<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${ht}" width="${w}" height="${ht}" role="img">`,
    `<title>${esc(h.title)}</title>`,
    `<text x="4" y="16" class="t">${esc(h.title)}</text>`,
  ];
  h.rows.forEach((r, i) => {
    out.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(r)}</text>`);
    h.cols.forEach((_, j) => {
      const v = h.values[i][j];
      const x = left + j * cell;
      const y = top + i * cell;
      out.push(
        `<rect x="${x}" y="${y}" width="${cell - 2}" height="${cell - 2}" fill="${v === null ? '#eeeeee' : scoreColour(v)}"><title>${esc(`${h.rowLabel} ${r}, ${h.colLabel} ${h.cols[j]}: ${v === null ? 'no data' : `${Math.round(v * 100)}%`}`)}</title></rect>`,
      );
      if (v !== null)
        out.push(
          `<text x="${x + (cell - 2) / 2}" y="${y + cell / 2 + 3}" text-anchor="middle" class="v">${Math.round(v * 100)}</text>`,
        );
    });
  });
  for (const [j, c] of h.cols.entries())
    out.push(
      `<text x="${left + j * cell + (cell - 2) / 2}" y="${top + h.rows.length * cell + 12}" text-anchor="middle">${esc(c)}</text>`,
    );
  out.push(
    `<text x="${left + (h.cols.length * cell) / 2}" y="${ht - 4}" text-anchor="middle">${esc(h.colLabel)}</text>`,
    '</svg>',
  );
  return out.join('');
}
