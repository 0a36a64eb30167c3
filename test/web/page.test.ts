// The in-browser page in headless Chromium (Debian's, via playwright-core; skipped where it is not installed).
// The passkey demo, run in the page, must give Node's greedy tokens, kept fraction and KV bytes for the full
// cache, LagKV and LASER-KV. Node's side asks the benchmark's way (splitTokens, prefill with the question, then
// the question uncompressed), independently of the page's code. Then: no console errors, a reload while offline
// (the service worker's copy) runs again, and a file that is not GGUF gets a clear message in the page.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { passkeySample } from '../../src/bench/tasks/passkey.js';
import { splitTokens } from '../../src/bench/tasks/types.js';
import { buildWeb } from '../../src/bundle/web.js';
import { Model } from '../../src/model/model.js';
import { defaultModelPath } from '../../src/paths.js';
import { createWebServer } from '../../src/server/static-web.js';
import { launchChromium, SKIP_CHROMIUM as skip } from '../helpers/chromium.js';
import { tempDir } from '../helpers/tmp.js';

/** The page's defaults: 1024-token passkey, seed 1, 5 digits; ratio 4; at most 32 new tokens; 2 threads. */
const TOKENS = 1024;
const THREADS = 2;
const PRESSES = ['', 'lagkv', 'laserkv'] as const;

interface Expected {
  ids: number[];
  text: string;
  keptFraction: number;
  kvBytes: number;
}

/** What Node computes for the passkey demo with `press` ('' = full cache). */
async function nodeAnswers(): Promise<{ key: string; byPress: Map<string, Expected> }> {
  const model = await Model.load(defaultModelPath, { threads: THREADS });
  try {
    const sample = passkeySample(model.tokenizer, { tokens: TOKENS, depth: 0.5, digits: 5, seed: 1 });
    const split = splitTokens(model.tokenizer, sample);
    const byPress = new Map<string, Expected>();
    for (const press of PRESSES) {
      const ctx = model.createContext({ press: press ? { name: press, ratio: 4 } : undefined });
      await ctx.prefill(split.context, { question: split.question });
      const ids: number[] = [];
      let text = '';
      for await (const t of ctx.generate(split.question, {
        maxTokens: 32,
        temperature: 0,
        compress: false,
      })) {
        if (t.id >= 0) ids.push(t.id);
        text += t.text;
      }
      byPress.set(press, { ids, text, keptFraction: ctx.keptFraction, kvBytes: ctx.cache.bytes });
      ctx.dispose();
    }
    return { key: sample.answer, byPress };
  } finally {
    await model.close();
  }
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

async function ready(page: Page): Promise<void> {
  await page.locator('body[data-state=ready]').waitFor({ timeout: 30_000 });
}

/** Runs the passkey demo with `press` in the page; the answer's ids and the run's numbers. */
async function runInPage(page: Page, press: string): Promise<Expected & { text: string }> {
  await page.selectOption('#press', press);
  await page.click('#run');
  const answer = page.locator('#answer[data-ids]');
  await answer.waitFor({ timeout: 30_000 });
  const stats = JSON.parse((await page.getAttribute('#stats', 'data-stats')) ?? '{}') as {
    keptFraction: number;
    kvBytes: number;
  };
  const ids = ((await answer.getAttribute('data-ids')) ?? '').split(',').filter(Boolean).map(Number);
  return {
    ids,
    text: (await answer.textContent()) ?? '',
    keptFraction: stats.keptFraction,
    kvBytes: stats.kvBytes,
  };
}

let url = '';
let node: Awaited<ReturnType<typeof nodeAnswers>>;
let server: Server | undefined;
let browser: Browser | undefined;
const dir = skip ? '' : tempDir('kvsieve-web-');

before(async () => {
  if (skip) return;
  await buildWeb(dir);
  const s = createWebServer(dir);
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/?threads=${THREADS}`;
  node = await nodeAnswers();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  server?.close();
});

test("the passkey demo in Chromium gives Node's tokens for the full cache, LagKV and LASER-KV, offline after a reload and from a picked file too", {
  skip,
}, async () => {
  // The full cache finds the key: the comparison below is between right answers, not shared garbage.
  assert.match(node.byPress.get('')?.text ?? '', new RegExp(node.key));
  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(url, { timeout: 30_000 });
    await ready(page);
    assert.match(
      (await page.textContent('#model-info')) ?? '',
      /kvsieve-demo\.gguf · llama, 4 layers × 2 KV heads/,
    );
    await page.click('#passkey');
    await ready(page);
    assert.equal(await page.inputValue('#question'), 'What is the pass key? The pass key is');
    for (const press of PRESSES) {
      const got = await runInPage(page, press);
      const want = node.byPress.get(press);
      assert.deepEqual(got.ids, want?.ids, `tokens with ${press || 'the full cache'}`);
      assert.equal(got.keptFraction, want?.keptFraction, `kept fraction with ${press || 'the full cache'}`);
      assert.equal(got.kvBytes, want?.kvBytes, `KV bytes with ${press || 'the full cache'}`);
      assert.equal(got.text, want?.text);
    }
    assert.ok((node.byPress.get('laserkv')?.keptFraction ?? 1) < 0.5, 'LASER-KV at ratio 4 evicts');
    // The kept-token view: one strip per layer and KV head, and the kept share LASER-KV left.
    assert.equal(await page.locator('#grid canvas').count(), 4 * 2);
    const kept = ((node.byPress.get('laserkv')?.keptFraction ?? 0) * 100).toFixed(1);
    assert.match((await page.textContent('#summary')) ?? '', new RegExp(`${kept.replace('.', '\\.')}% kept`));

    // Offline once loaded: the service worker has every file, the page reloads and runs without a network.
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await context.setOffline(true);
    await page.reload();
    await ready(page);
    await page.click('#passkey');
    await ready(page);
    const again = await runInPage(page, 'lagkv');
    assert.deepEqual(again.ids, node.byPress.get('lagkv')?.ids);
    // The same model picked as a file (read slice by slice in the engine's worker) answers the same.
    await page.setInputFiles('#model-file', {
      name: 'my-model.gguf',
      mimeType: 'application/octet-stream',
      buffer: readFileSync(defaultModelPath),
    });
    await page.locator('#model-info', { hasText: /^my-model\.gguf · llama/ }).waitFor({ timeout: 30_000 });
    await ready(page);
    const picked = await runInPage(page, 'laserkv');
    assert.deepEqual(picked.ids, node.byPress.get('laserkv')?.ids);
    assert.equal(picked.keptFraction, node.byPress.get('laserkv')?.keptFraction);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a file that is not GGUF, or a URL that is not there, gets a clear message in the page', {
  skip,
}, async () => {
  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${url}&sw=0&load=0`, { timeout: 30_000 });
    await page.setInputFiles('#model-file', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello, these are notes and not a model'),
    });
    await page.locator('body[data-state=error]').waitFor({ timeout: 30_000 });
    assert.equal(
      await page.textContent('#error'),
      'notes.txt: not a GGUF file: bad magic "hell", expected "GGUF" (at byte 4)',
    );
    assert.equal(await page.textContent('#model-info'), 'no model loaded');
    assert.equal(await page.isDisabled('#run'), true);
    // A URL that is not there: the download's status, with the URL.
    await page.check('input[name=model][value=url]');
    await page.fill('#model-url', 'models/missing.gguf');
    await page.click('#load');
    await page.locator('#error', { hasText: 'missing' }).waitFor({ timeout: 30_000 });
    assert.match(
      (await page.textContent('#error')) ?? '',
      /^http:\/\/127\.0\.0\.1:\d+\/models\/missing\.gguf: 404 Not Found$/,
    );
    assert.deepEqual(
      errors.filter((e) => !/Failed to load resource.*404/.test(e)),
      [],
    );
  } finally {
    await context.close();
  }
});

test("the library bundle on a page's main thread loads a URL (streamed, with progress), an ArrayBuffer and a Blob: Node's tokens", {
  skip,
}, async () => {
  const prompt = 'The pass key is 4711. Remember it. What is the pass key? The pass key is';
  const model = await Model.load(defaultModelPath, { threads: THREADS });
  const ctx = model.createContext({ press: { name: 'lagkv', ratio: 4 } });
  const want: number[] = [];
  for await (const t of ctx.generate(prompt, { maxTokens: 6, temperature: 0 })) want.push(t.id);
  await model.close();
  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    // The page loads no model of its own (load=0); the test imports the library itself.
    await page.goto(`${url}&sw=0&load=0`, { timeout: 30_000 });
    const got = (await page.evaluate(`(async () => {
      const k = await import('./kvsieve.js');
      const bytes = await (await fetch('models/kvsieve-demo.gguf')).arrayBuffer();
      const out = [];
      const progress = [];
      for (const source of ['models/kvsieve-demo.gguf', bytes, new Blob([bytes])]) {
        const onDownloadProgress = (done, total) => progress.push([done, total]);
        const m = await k.Model.load(source, { threads: ${THREADS}, onDownloadProgress });
        const ctx = m.createContext({ press: k.lagkv({ ratio: 4 }) });
        const ids = [];
        for await (const t of ctx.generate(${JSON.stringify(prompt)}, { maxTokens: 6, temperature: 0 })) ids.push(t.id);
        out.push({ path: m.path, backend: m.backend.name, ids });
        await m.close();
      }
      return { out, progress };
    })()`)) as { out: { path: string; backend: string; ids: number[] }[]; progress: [number, number][] };
    assert.deepEqual(
      got.out.map((g) => [g.path, g.ids]),
      [
        ['models/kvsieve-demo.gguf', want],
        ['buffer', want],
        ['blob', want],
      ],
    );
    assert.match(got.out[0].backend, new RegExp(`^wasm.*×${THREADS}$`));
    // The URL streamed in: progress from 0 to the file's size, growing, in more than one step.
    const size = statSync(defaultModelPath).size;
    const done = got.progress.map(([n]) => n);
    assert.deepEqual(got.progress[0], [0, size]);
    assert.deepEqual(got.progress.at(-1), [size, size]);
    assert.ok(got.progress.length > 2, `${got.progress.length} progress calls`);
    assert.deepEqual(
      done,
      [...done].sort((x, y) => x - y),
    );
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
