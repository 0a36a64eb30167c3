// Prefill and decode tokens/s of the browser build in headless Chromium against Node: the same model, the same
// threads, the same measuring code (bench/web-speed-run.ts). The engines take turns, one at a time (each
// round: a Node process, then a Chromium worker), so neither competes with the other for cores; the medians
// over the rounds are reported with Chromium's as a ratio of Node's. Load time: Node reads the file, Chromium
// downloads it from a local server (streamed) and reads that.
//
//   node --import tsx bench/web-speed.ts [--model demo|smollm2-135m] [--quant Q8_0] [--prefill 512] [--gen 64]
//        [--threads 2] [--rounds 3] [--node /path/to/node]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { browserHost, buildWeb } from '../src/bundle/web.js';
import { defaultModelPath } from '../src/paths.js';
import { createWebServer } from '../src/server/static-web.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { benchModel, type QuantName, type ShapeName } from './models.js';
import { measureSpeed, type Speed, type SpeedOptions } from './web-speed-run.js';

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    model: { type: 'string', default: 'demo' },
    quant: { type: 'string', default: 'Q8_0' },
    prefill: { type: 'string', default: '512' },
    gen: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    node: { type: 'string', default: process.execPath },
  },
});

if (values.worker) {
  // A Node run in a process of its own.
  const speed = await measureSpeed(
    (await import('../src/model/model.js')).Model.load,
    JSON.parse(values.worker) as SpeedOptions,
  );
  process.stdout.write(`${JSON.stringify(speed)}\n`);
  process.exit(0);
}

const path =
  values.model === 'demo'
    ? defaultModelPath
    : benchModel(values.model as ShapeName, values.quant as QuantName);
const base = { threads: Number(values.threads), prefill: Number(values.prefill), gen: Number(values.gen) };

// The browser build, plus a page and the worker that measures.
const dir = join(tmpdir(), `kvsieve-web-speed-${process.pid}`);
await buildWeb(dir);
writeFileSync(join(dir, 'bench.html'), '<!doctype html><meta charset="utf-8"><title>kvsieve speed</title>\n');
await build({
  entryPoints: [join(import.meta.dirname, 'web-speed-worker.ts')],
  outfile: join(dir, 'bench-worker.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  logLevel: 'silent',
  plugins: [browserHost],
});
mkdirSync(join(dir, 'bench'), { recursive: true });
symlinkSync(path, join(dir, 'bench', 'model.gguf'));
const server = createWebServer(dir);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function inNode(): Speed {
  const r = spawnSync(
    values.node,
    ['--import', 'tsx', 'bench/web-speed.ts', '--worker', JSON.stringify({ ...base, model: path })],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`node run failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Speed;
}

const browser = await launchChromium();
const chrome = browser.version();
async function inChromium(): Promise<Speed> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/bench.html`);
    const o = { ...base, model: `${origin}/bench/model.gguf` };
    const r = (await page.evaluate(`new Promise((resolve) => {
      const w = new Worker('bench-worker.js', { type: 'module' });
      w.onmessage = (e) => { resolve(e.data); w.terminate(); };
      w.onerror = (e) => resolve({ error: e.message || 'worker failed' });
      w.postMessage(${JSON.stringify(o)});
    })`)) as { speed?: Speed; error?: string };
    if (!r.speed) throw new Error(`chromium run failed: ${r.error}`);
    return r.speed;
  } finally {
    await page.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs: { node: Speed[]; chromium: Speed[] } = { node: [], chromium: [] };
try {
  for (let r = 0; r < Number(values.rounds); r++) {
    runs.node.push(inNode());
    runs.chromium.push(await inChromium());
    process.stderr.write(
      `round ${r + 1}: ${JSON.stringify({ node: runs.node[r], chromium: runs.chromium[r] })}\n`,
    );
  }
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
const nodeVersion = spawnSync(values.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
const row = (name: string, s: Speed[]) =>
  `| ${name} | ${s[0].backend} | ${median(s.map((x) => x.prefillTokS)).toFixed(0)} | ${median(s.map((x) => x.decodeTokS)).toFixed(1)} | ${(median(s.map((x) => x.loadMs)) / 1000).toFixed(1)} |`;
const ratio = (k: 'prefillTokS' | 'decodeTokS' | 'loadMs') =>
  (median(runs.chromium.map((x) => x[k])) / median(runs.node.map((x) => x[k]))).toFixed(2);
process.stdout.write(
  [
    `${values.model}${values.model === 'demo' ? '' : ` ${values.quant}`}, ${base.threads} threads, prefill ${base.prefill} tokens, decode ${base.gen}; medians of ${values.rounds} rounds`,
    '',
    '| engine | kernels | prefill tok/s | decode tok/s | load s |',
    '|---|---|---|---|---|',
    row(`Node ${nodeVersion}`, runs.node),
    row(`Chromium ${chrome} (headless)`, runs.chromium),
    `| Chromium / Node | | ${ratio('prefillTokS')} | ${ratio('decodeTokS')} | ${ratio('loadMs')} |`,
    '',
  ].join('\n'),
);
