// The web page in headless Chromium: it renders, a chat turn streams in, the cache view appears, and the
// console stays free of errors. Skips where Chromium is not installed (CI installs it: see .ci/run).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, SKIP_CHROMIUM as skip } from '../helpers/chromium.js';
import { startServer } from './helpers.js';

/** Collects console errors and uncaught exceptions. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? '';
}

async function say(page: Page, text: string, turn: number): Promise<void> {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  // The turn is over when the cache view of this turn is drawn (its legend lists the reply as segment #(2 turn + 1)).
  await page.locator('#legend', { hasText: `#${turn * 2 + 1} reply` }).waitFor({ timeout: 30_000 });
}

test('chat round trip: streamed reply, cache view per layer and head, no console errors', {
  skip,
}, async () => {
  const s = await startServer();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    const streams: string[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/v1/chat/completions')) streams.push(r.headers()['content-type'] ?? '');
    });
    await page.goto(s.url, { timeout: 30_000 });
    await page.locator('#model', { hasText: /^tiny/ }).waitFor({ timeout: 30_000 });
    assert.match(await text(page, '#model'), /2 layers × 2 KV heads, context 256/);
    await page.fill('#max-tokens', '12');
    await page.fill('#temperature', '0');

    await say(page, 'Hello there', 0);
    assert.deepEqual(streams, ['text/event-stream; charset=utf-8']);
    const reply = await text(page, '.msg.assistant .text');
    // Greedy decoding: the page must show exactly what the API answers for the same conversation.
    const expected = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'Hello there' }],
        max_tokens: 12,
        temperature: 0,
      }),
    });
    const answer = (await expected.json()) as { choices: { message: { content: string } }[] };
    assert.equal(reply, answer.choices[0].message.content);
    assert.ok(reply);
    assert.equal(await page.locator('#grid canvas').count(), 4, 'one strip per layer and KV head');
    assert.match(await text(page, '#summary'), /tokens seen · 100\.0% kept · KV cache/);

    // A second turn, compressed: the view covers the whole conversation and shows the eviction.
    await page.fill('#press', 'streaming');
    await page.fill('#ratio', '4');
    await say(page, 'And again, a little longer this time', 1);
    const legend = await text(page, '#legend');
    assert.match(legend, /#0 user.*#1 assistant.*#2 user.*#3 reply/);
    const kept = Number(/([\d.]+)% kept/.exec(await text(page, '#summary'))?.[1]);
    assert.ok(kept < 50, `streaming at ratio 4 keeps ${kept}%`);
    assert.equal(await page.locator('.msg.assistant').count(), 2);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('with an API key, the browser logs in once (Basic auth) and the page works', { skip }, async () => {
  const s = await startServer({ apiKey: 'sekret' });
  const browser = await launchChromium();
  try {
    const anonymous = await browser.newPage();
    // Without credentials Chromium either shows the 401 or fails the navigation (headless cannot ask).
    const refused = await anonymous.goto(s.url).then(
      (r) => String(r?.status()),
      (e: Error) => e.message,
    );
    assert.match(refused, /^401$|ERR_INVALID_AUTH_CREDENTIALS/);
    const context = await browser.newContext({ httpCredentials: { username: 'me', password: 'sekret' } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(s.url);
    await page.locator('#model', { hasText: /^tiny/ }).waitFor({ timeout: 30_000 });
    await page.fill('#max-tokens', '4');
    await say(page, 'hi', 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
