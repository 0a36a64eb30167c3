// `npm run build:web`: the static browser build into build/web (or the folder given), see src/bundle/web.ts.
import { resolve } from 'node:path';
import { buildWeb, DEFAULT_WEB_DIR } from '../src/bundle/web.js';

const dir = resolve(process.argv[2] ?? DEFAULT_WEB_DIR);
const t0 = performance.now();
const b = await buildWeb(dir);
const ms = Math.round(performance.now() - t0);
process.stdout.write(
  `${b.dir}: ${b.files.length} files, ${(b.scriptBytes / 1024).toFixed(0)} KiB of JavaScript (${ms} ms)\n`,
);
