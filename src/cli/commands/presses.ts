import { parseArgs } from 'node:util';
import { describePresses, type PressOption } from '../../presses/index.js';

export const PRESSES_HELP = `kvsieve presses [--json]

Lists the KV-cache compression methods ("presses") that --press accepts, with their options and defaults.
Options follow the name: --press lagkv:lag=64,sink=4 (lists of whole numbers are joined by /, as
skipLayers=0/1); the server takes them as "kvsieve": {"press": "lagkv", "options": {"lag": 64}}.`;

function valueText(o: PressOption): string {
  const v = o.default;
  if (v === undefined) return 'none';
  return Array.isArray(v) ? v.join('/') : String(v);
}

export async function pressesCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
  const all = describePresses();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    return;
  }
  const width = Math.max(...all.map((p) => p.name.length));
  const pad = ' '.repeat(width + 4);
  const sizing = { ratio: '--ratio only', 'ratio-or-budget': '--ratio or --budget', none: 'no ratio' };
  const lines: string[] = [];
  for (const p of all) {
    lines.push(`  ${p.name.padEnd(width)}  ${p.describe}`, `${pad}${sizing[p.sizing]}`);
    const cells = p.options.map((o) => {
      const kind = o.type === 'choice' ? (o.values ?? []).join('|') : o.type;
      return [`${o.name}=${valueText(o)}`, `${o.describe} (${kind})`];
    });
    const w = Math.max(0, ...cells.map((c) => c[0].length));
    for (const [a, b] of cells) lines.push(`${pad}${a.padEnd(w)}  ${b}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
