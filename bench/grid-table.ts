// The README's grid table from `kvsieve bench` results files: one markdown row per press and mode (nominal
// ratio, or equal budget with --match-kept), one column per (task, ratio) with the accuracy pooled over the
// lengths, each followed by the mean measured kept fraction of the context in that cell. With --per-length,
// each cell lists the accuracy at each length (a / b / c) and the kept fractions likewise.
//
//   node --import tsx bench/grid-table.ts [--per-length] results/results.jsonl [more.jsonl ...]
import { seriesLabel } from '../src/bench/report/summary.js';
import { ResultStore, type SampleRecord } from '../src/bench/runner/store.js';

const args = process.argv.slice(2);
const perLength = args.includes('--per-length');
const files = args.filter((a) => a !== '--per-length');
if (files.length === 0) throw new Error('usage: grid-table.ts RESULTS.jsonl [MORE.jsonl ...]');
const records: SampleRecord[] = files.flatMap((f) => new ResultStore(f).records);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

const tasks = [...new Set(records.map((r) => r.task))];
const ratios = [...new Set(records.filter((r) => r.press !== 'full').map((r) => r.ratio))].sort(
  (a, b) => a - b,
);
const lengths = [...new Set(records.map((r) => r.length))].sort((a, b) => a - b);
const label = (r: SampleRecord) => seriesLabel({ ...r, matchKept: false });

for (const matched of [false, true]) {
  const rows = records.filter((r) => r.press === 'full' || (r.matchKept === true) === matched);
  if (!rows.some((r) => r.press !== 'full')) continue;
  const presses = [...new Set(rows.map(label))];
  const head = tasks.flatMap((t) => ratios.map((k) => (matched ? `${t} 1/${k}` : `${t} ${k}×`)));
  const out = [
    matched
      ? `Equal budgets (--match-kept): accuracy (measured kept fraction), pooled over ${lengths.join('/')} tokens`
      : `Nominal ratios: accuracy (measured kept fraction), pooled over ${lengths.join('/')} tokens`,
    '',
    `| press | ${head.join(' | ')} |`,
    `| --- | ${head.map(() => '---').join(' | ')} |`,
  ];
  for (const press of presses) {
    const cells = tasks.flatMap((t) =>
      ratios.map((k, i) => {
        const rs = rows.filter(
          (r) => label(r) === press && r.task === t && (r.press === 'full' || r.ratio === k),
        );
        if (rs.length === 0 || (rs[0].press === 'full' && i > 0)) return '';
        const split = (f: (r: SampleRecord) => number) =>
          perLength
            ? lengths
                .map((n) => rs.filter((r) => r.length === n))
                .map((xs) => (xs.length ? pct(mean(xs.map(f))) : '–'))
            : [pct(mean(rs.map(f)))];
        const acc = split((r) => r.score).join(' / ');
        return rs[0].press === 'full' ? acc : `${acc} (${split((r) => r.keptFraction).join(' / ')})`;
      }),
    );
    out.push(`| ${press} | ${cells.join(' | ')} |`);
  }
  process.stdout.write(`${out.join('\n')}\n\n`);
}
