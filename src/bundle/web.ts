// The static browser build (`npm run build:web`, `kvsieve web`): esbuild bundles the library (kvsieve.js), the
// kernel worker, the page's engine worker and the page, with the browser host (src/host/browser.ts) in place of
// Node's, next to the kernels' .wasm files, the demo model, a service worker that keeps it all for offline use,
// and a _headers file with the two headers the page needs (Netlify, Cloudflare Pages). Any static host that
// sends COOP same-origin and COEP require-corp can serve the folder.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { packageRoot } from '../paths.js';
import { DEFAULT_WEB_DIR, ISOLATION_HEADERS } from './web-files.js';

export { DEFAULT_WEB_DIR };

const KERNELS = ['kernels.wasm', 'kernels-relaxed.wasm', 'kernels-relaxed-dot.wasm'];
const DEMO_MODEL = 'kvsieve-demo.gguf';

export interface WebBuild {
  dir: string;
  /** Every file of the build, relative to `dir`, with '/' separators. */
  files: string[];
  /** Bytes of JavaScript in the build (bundles and chunks). */
  scriptBytes: number;
}

const src = join(packageRoot, 'src');

/**
 * src/host/index.ts re-exports Node's host from ./node.js; the browser gets ./browser.ts. Any other Node
 * built-in is an error naming the file that imports it.
 */
export const browserHost: Plugin = {
  name: 'kvsieve-browser-host',
  setup(b) {
    b.onResolve({ filter: /^\.\/node\.js$/ }, (args) =>
      args.importer === join(src, 'host', 'index.ts') ? { path: join(src, 'host', 'browser.ts') } : undefined,
    );
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [
        {
          text: `${args.path} imported by ${relative(packageRoot, args.importer)}: no Node module may reach the browser build (put the difference behind src/host)`,
        },
      ],
    }));
  },
};

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, base) : [relative(base, p).split(sep).join('/')];
  });
}

/** Builds the page and the library into `dir` (emptied first). */
export async function buildWeb(dir = DEFAULT_WEB_DIR, opts: { minify?: boolean } = {}): Promise<WebBuild> {
  for (const k of KERNELS) {
    if (!statSync(join(packageRoot, 'build', k), { throwIfNoEntry: false }))
      throw new Error(`build/${k} is missing: run \`npm run build:wasm\` first`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'models'), { recursive: true });
  const minify = opts.minify ?? true;
  await build({
    entryPoints: {
      kvsieve: join(src, 'web', 'index.ts'),
      'kernel-worker': join(src, 'kernels', 'worker.ts'),
      'engine-worker': join(src, 'web', 'engine-worker.ts'),
      page: join(src, 'web', 'page.ts'),
    },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // One folder: the host finds kernel-worker.js and the .wasm files beside whichever chunk it lands in.
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [browserHost],
  });
  for (const k of KERNELS) copyFileSync(join(packageRoot, 'build', k), join(dir, k));
  copyFileSync(join(packageRoot, 'models', DEMO_MODEL), join(dir, 'models', DEMO_MODEL));
  copyFileSync(join(src, 'web', 'page.html'), join(dir, 'index.html'));
  writeFileSync(
    join(dir, '_headers'),
    `/*\n${Object.entries(ISOLATION_HEADERS)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join('')}`,
  );
  // The service worker keeps every file of this build (versioned by their hash) for use without a network.
  const shell = listFiles(dir).filter((f) => !f.endsWith('.map') && f !== '_headers');
  const hash = createHash('sha256');
  for (const f of shell.sort()) hash.update(f).update(readFileSync(join(dir, f)));
  await build({
    entryPoints: [join(src, 'web', 'sw.ts')],
    outfile: join(dir, 'sw.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify,
    logLevel: 'silent',
    define: {
      __KVSIEVE_CACHE__: JSON.stringify(`kvsieve-${hash.digest('hex').slice(0, 16)}`),
      __KVSIEVE_FILES__: JSON.stringify(['./', ...shell.filter((f) => f !== 'index.html')]),
    },
    plugins: [browserHost],
  });
  const files = listFiles(dir).sort();
  const scriptBytes = files
    .filter((f) => f.endsWith('.js'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  return { dir, files, scriptBytes };
}
