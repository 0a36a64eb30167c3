// `kvsieve serve` as a process: clear startup errors, a working server, and a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { writeTinyModel } from './helpers.js';

const dir = tempDir();
const model = writeTinyModel(dir);
// The TypeScript entry point, so a stale dist/ can never stand in for the code under test.
const CLI = ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--threads', '1'];

function serveSync(...args: string[]) {
  return spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('startup failures are one clear line and exit code 2', async () => {
  writeFileSync(join(dir, 'junk.gguf'), 'this is not a model at all, just some text');
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    const cases: [string[], RegExp][] = [
      [['-m', join(dir, 'missing.gguf')], /model file not found/],
      [['-m', join(dir, 'junk.gguf')], /not a GGUF file|too small/],
      [['-m', model, '--press', 'nope'], /unknown press "nope"/],
      [['-m', model, '--port', '70000'], /--port must be a whole number >= 0 and <= 65535/],
      [['-m', model, '--port', String(port)], /cannot listen on 127\.0\.0\.1:\d+: the address is in use/],
    ];
    for (const [args, pattern] of cases) {
      const r = serveSync(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    busy.close();
  }
});

test('serves on a free loopback port, logs requests, and stops cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [...CLI, '-m', model, '--port', '0', '--model-id', 'mini'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      stderr += d;
      const m = /serving mini at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
  });
  const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
  assert.equal(models.data[0].id, 'mini');
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
  clearTimeout(killer);
  assert.match(stderr, /GET \/v1\/models 200/);
  assert.match(stderr, /SIGTERM, finishing running requests[\s\S]*kvsieve: stopped/);
});
