// What `npm pack` puts in the package: everything the installed CLI and library read at run time (compiled
// code, WebAssembly kernels, the embedded model, the web page), and none of the sources, tests or tools.
// The full check (install the tarball into a fresh project, run `npx kvsieve demo` and the README's library
// example) is in .ci/run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

test('the packed package holds what the installed CLI and library need, and no sources or tests', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = new Set(
    (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path),
  );
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    exports: Record<string, string>;
    types: string;
    bin: Record<string, string>;
  };
  // The entry points, the whole compiled tree (workers included) and the files read beside it.
  const entries = [...Object.values(pkg.exports), pkg.types, ...Object.values(pkg.bin)].map((p) =>
    p.replace(/^\.\//, ''),
  );
  for (const needed of [
    'package.json',
    'README.md',
    ...entries,
    'dist/cli/main.js',
    ...walk('dist'),
    'build/kernels.wasm',
    'build/kernels-relaxed.wasm',
    'build/kernels-relaxed-dot.wasm',
    'build/web/index.html',
    'models/kvsieve-demo.gguf',
    'src/server/page.html',
  ]) {
    assert.ok(files.has(needed), `${needed} is missing from the package`);
  }
  for (const f of files) {
    assert.doesNotMatch(
      f,
      /^(test|tools|bench|assembly|scripts|node_modules|\.ci)\//,
      `${f} should not ship`,
    );
    assert.doesNotMatch(f, /^src\/.*\.ts$/, `${f}: TypeScript sources should not ship`);
  }
});
