// Where the browser build lives and what serving it takes; no esbuild here, so the CLI and the server can use it
// where the bundler is not installed.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

/** The headers that make a page cross-origin isolated, as SharedArrayBuffer and shared WebAssembly memory need. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/** `npm run build:web` builds here. */
export const DEFAULT_WEB_DIR = join(packageRoot, 'build', 'web');

/** Whether `dir` holds a build (its page, library and kernel worker). */
export function hasWebBuild(dir = DEFAULT_WEB_DIR): boolean {
  return ['index.html', 'kvsieve.js', 'kernel-worker.js'].every((f) =>
    statSync(join(dir, f), { throwIfNoEntry: false })?.isFile(),
  );
}
