// The HTTP surface without a client library: OpenAI-style error objects for every kind of bad request, and
// the API key on every route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from './helpers.js';

const open = await startServer({ maxBodyBytes: 4096 });
const locked = await startServer({ apiKey: 'sekret' });

interface ErrorReply {
  status: number;
  headers: Headers;
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function call(path: string, init: RequestInit = {}, base = open.url): Promise<ErrorReply> {
  const res = await fetch(base + path, init);
  const body = (await res.json()) as { error: ErrorReply['error'] };
  return { status: res.status, headers: res.headers, error: body.error };
}

const post = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

test('malformed bodies and bad fields are 400s with an OpenAI error object naming the field', async () => {
  const cases: [string, unknown, RegExp, string | null][] = [
    ['/v1/chat/completions', '{"messages": [', /not valid JSON/, null],
    ['/v1/chat/completions', '[1, 2]', /must be a JSON object/, null],
    ['/v1/chat/completions', { messages: 'hi' }, /'messages' must be a non-empty array/, 'messages'],
    ['/v1/chat/completions', { messages: [{ content: 'hi' }] }, /role/, 'messages[0].role'],
    [
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
      /only text/,
      'messages[0].content',
    ],
    [
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'hi' }], stream: 'yes' },
      /boolean/,
      'stream',
    ],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], n: 2 }, /not supported/, 'n'],
    [
      '/v1/completions',
      { prompt: 'hi', kvsieve: { cacheType: { k: 'q9' } } },
      /'kvsieve.cacheType.k' must be one of f32, f16, q8_0, q4_0/,
      'kvsieve.cacheType.k',
    ],
    [
      '/v1/completions',
      { prompt: 'hi', kvsieve: { cacheType: { v: 'q8_0' } } },
      /cacheType.v: q8_0 stores blocks of 32 values, but this model's head size is 16/,
      'kvsieve.cacheType',
    ],
    [
      '/v1/completions',
      { prompt: 'hi', kvsieve: { cacheType: 'f16' } },
      /must be an object/,
      'kvsieve.cacheType',
    ],
    [
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'hi' }], stop: ['a', 'b', 'c', 'd', 'e'] },
      /up to 4/,
      'stop',
    ],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], top_p: 0 }, /> 0/, 'top_p'],
    ['/v1/completions', { prompt: [5, 999] }, /token ids in \[0, 300\)/, 'prompt'],
    ['/v1/completions', { prompt: 'hi', max_tokens: -1 }, />= 0/, 'max_tokens'],
    [
      '/v1/completions',
      { prompt: 'hi', stream_options: { include_usage: true } },
      /only allowed with 'stream'/,
      'stream_options',
    ],
    ['/v1/completions', { prompt: 'hi', kvsieve: { ratio: 4 } }, /need 'kvsieve.press'/, 'kvsieve.press'],
    ['/v1/completions', { prompt: 'hi', kvsieve: { press: 'lagkv', ratio: 0.5 } }, />= 1/, 'kvsieve.ratio'],
    ['/v1/completions', { prompt: 'hi', kvsieve: { press: 'lagkv', budget: 8 } }, /takes a ratio/, 'kvsieve'],
    ['/v1/completions', { prompt: 'hi', kvsieve: { press: 'zip' } }, /unknown press "zip"/, 'kvsieve.press'],
    ['/v1/completions', { prompt: 'a'.repeat(300) }, /maximum context length is 256 tokens/, 'prompt'],
  ];
  for (const [path, body, message, param] of cases) {
    const r = await call(path, post(body));
    const what = `${path} ${JSON.stringify(body).slice(0, 80)}`;
    assert.equal(r.status, 400, what);
    assert.equal(r.error.type, 'invalid_request_error', what);
    assert.match(r.error.message, message, what);
    assert.equal(r.error.param, param, what);
  }
  // Nothing was queued or left running by any of them.
  assert.deepEqual(open.server.stats().running + open.server.stats().queued, 0);
});

test('oversized bodies are 413, unknown routes 404, wrong methods 405 with Allow', async () => {
  const big = await call('/v1/completions', post({ prompt: 'x'.repeat(5000) }));
  assert.equal(big.status, 413);
  assert.match(big.error.message, /larger than 4096 bytes/);
  const missing = await call('/v2/engines');
  assert.equal(missing.status, 404);
  assert.equal(missing.error.type, 'not_found_error');
  const wrong = await call('/v1/chat/completions');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST');
  const noCache = await call('/v1/kvsieve/cache/chatcmpl-nothing');
  assert.equal(noCache.status, 404);
});

test('the page is self-contained HTML with a strict content security policy', async () => {
  const res = await fetch(`${open.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const html = await res.text();
  assert.doesNotMatch(
    html,
    /<script[^>]+src=|<link[^>]+stylesheet|https?:\/\//,
    'nothing loads from elsewhere',
  );
});

test('with --api-key, every route needs it: Bearer for clients, Basic (a browser login) for the page', async () => {
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/v1/models'],
    ['POST', '/v1/chat/completions'],
    ['POST', '/v1/completions'],
    ['GET', '/v1/kvsieve/stats'],
    ['GET', '/v1/kvsieve/cache/x'],
    ['GET', '/no/such/route'],
  ]) {
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer sekret2', 'Basic d3Jvbmc=']) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const r = await call(path, { method, headers, body: method === 'POST' ? '{}' : undefined }, locked.url);
      assert.equal(r.status, 401, `${method} ${path} with ${authorization}`);
      assert.equal(r.error.code, 'invalid_api_key');
      assert.equal(r.headers.has('www-authenticate'), path === '/', 'only the page asks a browser to log in');
    }
  }
  const bearer = await fetch(`${locked.url}/v1/models`, { headers: { authorization: 'Bearer sekret' } });
  assert.equal(bearer.status, 200);
  const basic = Buffer.from('anyone:sekret').toString('base64');
  const page = await fetch(`${locked.url}/`, { headers: { authorization: `Basic ${basic}` } });
  assert.equal(page.status, 200);
});
