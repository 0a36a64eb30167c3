// The accuracy of each press under each cache storage type, from a `kvsieve bench --cache-type LIST` results
// file: one markdown row per (press, ratio), one column per (task, length) and storage type, with each cell's
// difference from f32 in points and the largest such difference per type, plus the mean kept fraction.
//
//   node --import tsx bench/cache-type-table.ts results/results.jsonl
import { seriesLabel } from '../src/bench/report/summary.js';
import { formatLength } from '../src/bench/runner/spec.js';
import { ResultStore } from '../src/bench/runner/store.js';

const [results] = process.argv.slice(2);
if (!results) throw new Error('usage: cache-type-table.ts RESULTS.jsonl');
const records = new ResultStore(results).records;
const types = [...new Set(records.map((r) => r.cacheType ?? 'f32'))];
const cells = [...new Set(records.map((r) => `${r.task} ${formatLength(r.length)}`))];
const runs = [...new Set(records.map((r) => `${seriesLabel({ ...r, cacheType: undefined })}|${r.ratio}`))];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pick = (run: string, cell: string, type: string) =>
  records.filter(
    (r) =>
      `${seriesLabel({ ...r, cacheType: undefined })}|${r.ratio}` === run &&
      `${r.task} ${formatLength(r.length)}` === cell &&
      (r.cacheType ?? 'f32') === type,
  );

const lines = [
  `| press | ratio | ${cells.map((c) => `${c} (${types.join(' / ')})`).join(' | ')} | kept |`,
  `| --- | --- | ${cells.map(() => '---').join(' | ')} | --- |`,
];
const worst = new Map(types.map((t) => [t, 0]));
for (const run of runs) {
  const [label, ratio] = run.split('|');
  const row = cells.map((cell) => {
    const acc = types.map((t) => {
      const rs = pick(run, cell, t);
      return rs.length === 0 ? Number.NaN : 100 * mean(rs.map((r) => r.score));
    });
    const base = acc[types.indexOf('f32')];
    types.forEach((t, i) => {
      if (!Number.isNaN(base) && !Number.isNaN(acc[i]))
        worst.set(t, Math.max(worst.get(t) ?? 0, Math.abs(acc[i] - base)));
    });
    return acc.map((a) => (Number.isNaN(a) ? '–' : `${a.toFixed(0)}`)).join(' / ');
  });
  const kept = records.filter((r) => `${seriesLabel({ ...r, cacheType: undefined })}|${r.ratio}` === run);
  lines.push(
    `| ${label} | ${ratio}× | ${row.join(' | ')} | ${(100 * mean(kept.map((r) => r.keptFraction))).toFixed(0)}% |`,
  );
}
const n = Math.min(...runs.flatMap((run) => cells.flatMap((c) => types.map((t) => pick(run, c, t).length))));
lines.push('');
lines.push(`Accuracy in % (${n}+ samples a cell); largest difference from f32 in any cell, in points:`);
lines.push(types.map((t) => `${t} ${(worst.get(t) ?? 0).toFixed(0)}`).join(', '));
process.stdout.write(`${lines.join('\n')}\n`);
