// The static browser build: its files, no Node module or global in its JavaScript (the build refuses a Node
// import), and the servers that hand it out with the cross-origin isolation headers (kvsieve web; kvsieve serve
// at /web/). No browser needed here; test/web/page.test.ts runs the page in Chromium.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { build } from 'esbuild';
import { browserHost, buildWeb, type WebBuild } from '../../src/bundle/web.js';
import { packageRoot } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { startServer } from '../server/helpers.js';

const dir = tempDir('kvsieve-web-build-');
let web: WebBuild;

before(async () => {
  web = await buildWeb(dir);
});

/** A raw GET (fetch would normalise `..` out of the path before sending it). */
function get(url: string, path: string, method = 'GET') {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the build holds the page, the library, the workers, the kernels, the demo model and the headers file', () => {
  for (const f of [
    'index.html',
    'page.js',
    'kvsieve.js',
    'engine-worker.js',
    'kernel-worker.js',
    'sw.js',
    'kernels.wasm',
    'kernels-relaxed.wasm',
    'kernels-relaxed-dot.wasm',
    'models/kvsieve-demo.gguf',
    '_headers',
  ]) {
    assert.ok(web.files.includes(f), `${f} is in the build`);
  }
  assert.deepEqual(
    readFileSync(join(dir, 'models/kvsieve-demo.gguf')),
    readFileSync(join(packageRoot, 'models/kvsieve-demo.gguf')),
  );
  assert.equal(
    readFileSync(join(dir, '_headers'), 'utf8'),
    '/*\n  cross-origin-opener-policy: same-origin\n  cross-origin-embedder-policy: require-corp\n',
  );
  // The service worker keeps every file the page needs, the model and the kernels included.
  const sw = readFileSync(join(dir, 'sw.js'), 'utf8');
  for (const f of [
    'page.js',
    'engine-worker.js',
    'kernel-worker.js',
    'kernels.wasm',
    'models/kvsieve-demo.gguf',
  ])
    assert.ok(sw.includes(JSON.stringify(f)), `the service worker keeps ${f}`);
});

test('no Node module or global reaches the browser JavaScript', async () => {
  for (const f of web.files.filter((name) => name.endsWith('.js'))) {
    const js = readFileSync(join(dir, f), 'utf8');
    for (const node of [/\bBuffer\b/, /\bprocess\.\w/, /\bsetImmediate\b/, /\brequire\(/, /["']node:/]) {
      assert.doesNotMatch(js, node, `${f} mentions ${node}`);
    }
  }
  // The build itself refuses a Node import, naming the file that makes it.
  await assert.rejects(
    build({
      stdin: {
        contents: "import { readFileSync } from 'node:fs'; readFileSync('x');",
        resolveDir: packageRoot,
      },
      bundle: true,
      write: false,
      platform: 'browser',
      logLevel: 'silent',
      plugins: [browserHost],
    }),
    /node:fs imported by .*no Node module may reach the browser build/,
  );
});

test('kvsieve web serves the build with the isolation headers, refuses paths outside it, stops on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'web', '--port', '0', '--dir', dir],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      stderr += d;
      const m = /page is at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
  });
  try {
    const page = await get(url, '/');
    assert.equal(page.status, 200);
    assert.equal(page.body, readFileSync(join(dir, 'index.html'), 'utf8'));
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    const wasm = await get(url, '/kernels.wasm', 'HEAD');
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    assert.equal(wasm.headers['content-length'], String(readFileSync(join(dir, 'kernels.wasm')).length));
    assert.equal(wasm.body, '');
    // A URL's own dot segments resolve inside the build; encoded slashes that would climb out are refused.
    assert.equal((await get(url, '/../package.json')).status, 404);
    assert.equal((await get(url, '/models/%2e%2e/%2e%2e/package.json')).status, 404);
    assert.equal((await get(url, '/models%2f..%2f..%2fpackage.json')).status, 400);
    assert.equal((await get(url, '/%E0%A4%A')).status, 400);
    assert.equal((await get(url, '/nothing-here.js')).status, 404);
    assert.equal((await get(url, '/', 'POST')).status, 405);
  } finally {
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    clearTimeout(killer);
  }
  // Without a build to serve: one line and exit code 2.
  const none = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'web', '--dir', join(dir, 'models')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  none.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  assert.equal(await new Promise((resolve) => none.on('exit', resolve)), 2);
  assert.match(err, /^kvsieve: .*models holds no web build \(run `npm run build:web`\)\n$/);
});

test('kvsieve serve offers the page at /web/ with the isolation headers', async () => {
  const s = await startServer({ webDir: dir });
  const moved = await get(s.url, '/web');
  assert.equal(moved.status, 308);
  assert.equal(moved.headers.location, '/web/');
  const page = await get(s.url, '/web/');
  assert.equal(page.status, 200);
  assert.equal(page.body, readFileSync(join(dir, 'index.html'), 'utf8'));
  assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal(
    (await get(s.url, '/web/kernel-worker.js')).headers['content-type'],
    'text/javascript; charset=utf-8',
  );
  // The server's own page links to it.
  assert.match((await get(s.url, '/')).body, /<a href="\/web\/"/);
  const missing = await startServer({ webDir: join(dir, 'models') });
  const r = await get(missing.url, '/web/');
  assert.equal(r.status, 404);
  assert.match(r.body, /the in-browser page is not built here \(npm run build:web\)/);
});
