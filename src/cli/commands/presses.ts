import { parseArgs } from 'node:util';
import { describePresses } from '../../presses/index.js';

export const PRESSES_HELP = `kvsieve presses [--json]

Lists the KV-cache compression methods ("presses") that --press accepts.`;

export async function pressesCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
  const all = describePresses();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    return;
  }
  const width = Math.max(...all.map((p) => p.name.length));
  process.stdout.write(`${all.map((p) => `  ${p.name.padEnd(width)}  ${p.describe}`).join('\n')}\n`);
}
