// Writes the README's charts (standalone SVG files) from a `kvsieve bench` results file: accuracy vs ratio
// (accuracy-TASK.svg) and accuracy vs measured kept fraction (accuracy-kept-TASK.svg).
//
//   node --import tsx bench/readme-charts.ts results/results.jsonl docs/
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accuracyCharts, keptCharts } from '../src/bench/report/charts.js';
import { colourMap } from '../src/bench/report/svg.js';
import { ResultStore } from '../src/bench/runner/store.js';

const [results, outDir] = process.argv.slice(2);
if (!results || !outDir) throw new Error('usage: readme-charts.ts RESULTS.jsonl OUT_DIR');
const records = new ResultStore(results).records;
const colours = colourMap([...new Set(records.map((r) => r.press))]);
const tasks = [...new Set(records.map((r) => r.task))];
for (const [prefix, charts] of [
  ['accuracy', accuracyCharts(records, colours)],
  ['accuracy-kept', keptCharts(records, colours)],
] as const)
  charts.forEach((svg, i) => {
    // A white background, since the charts are drawn for a white page.
    const file = join(outDir, `${prefix}-${tasks[i].replace(/[^a-z0-9_-]/gi, '_')}.svg`);
    writeFileSync(file, svg.replace(/(<svg[^>]*>)/, '$1<rect width="100%" height="100%" fill="#fff"/>'));
    process.stdout.write(`wrote ${file}\n`);
  });
