// The server facing hostile clients and web pages: Host and Origin checks (DNS rebinding, cross-site POSTs),
// a strict API key, bounded bodies (size, depth, time), bounded connections, prompts tokenized off the
// serving thread and refused early when they cannot fit, and OpenAI's answers for unknown models, HEAD and
// max_tokens past the context.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startServer } from './helpers.js';

const open = await startServer({
  contextLength: 256,
  cors: ['https://app.example'],
  allowedHosts: ['my.box'],
});
const locked = await startServer({ apiKey: 'sekret' });
const port = (url: string) => Number(new URL(url).port);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so Host, Origin and the method are exactly what the test says. */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: port(url), method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const errorOf = (r: Reply) =>
  (JSON.parse(r.body) as { error: { code: string | null; param: string | null; message: string } }).error;

test('an unknown model is 404 model_not_found, on the generation routes and /v1/models/:id', async () => {
  const chat = await raw(
    open.url,
    'POST',
    '/v1/chat/completions',
    json,
    JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
    }),
  );
  assert.equal(chat.status, 404);
  assert.equal(errorOf(chat).code, 'model_not_found');
  assert.equal(errorOf(chat).param, 'model');
  const retrieve = await raw(open.url, 'GET', '/v1/models/gpt-4o');
  assert.equal(retrieve.status, 404);
  assert.equal(errorOf(retrieve).code, 'model_not_found');
  const ok = await raw(
    open.url,
    'POST',
    '/v1/completions',
    json,
    JSON.stringify({ model: 'tiny', prompt: 'hi', max_tokens: 2 }),
  );
  assert.equal(ok.status, 200);
});

test('press names are own names only: "__proto__", "constructor", "toString" are 400 unknown press', async () => {
  for (const press of ['__proto__', 'constructor', 'toString']) {
    const r = await raw(
      open.url,
      'POST',
      '/v1/completions',
      json,
      JSON.stringify({ prompt: 'hi', kvsieve: { press } }),
    );
    assert.equal(r.status, 400, `${press}: ${r.body}`);
    assert.equal(errorOf(r).param, 'kvsieve.press');
    assert.match(errorOf(r).message, new RegExp(`unknown press "${press}"`));
  }
});

test('HEAD works like GET without a body; /health answers without the key', async () => {
  for (const path of ['/v1/models', '/health', '/', '/v1/kvsieve/stats']) {
    const get = await raw(open.url, 'GET', path);
    const head = await raw(open.url, 'HEAD', path);
    assert.equal(head.status, 200, path);
    assert.equal(head.body, '', path);
    assert.equal(head.headers['content-type'], get.headers['content-type'], path);
    if (path !== '/v1/kvsieve/stats')
      assert.equal(head.headers['content-length'], get.headers['content-length'], path);
  }
  assert.deepEqual(JSON.parse((await raw(open.url, 'GET', '/health')).body), { status: 'ok' });
  assert.equal((await raw(locked.url, 'GET', '/health')).status, 200);
  assert.equal((await raw(locked.url, 'GET', '/v1/models')).status, 401);
});

test('max_tokens beyond the context is a 400 naming the numbers, not silently capped', async () => {
  const c = await raw(
    open.url,
    'POST',
    '/v1/completions',
    json,
    JSON.stringify({ prompt: 'hello', max_tokens: 1000 }),
  );
  assert.equal(c.status, 400);
  assert.equal(errorOf(c).code, 'context_length_exceeded');
  assert.equal(errorOf(c).param, 'max_tokens');
  assert.match(
    errorOf(c).message,
    /maximum context length is 256 tokens, but \d+ were requested \(\d+ in the prompt, 1000 in max_tokens\)/,
  );
  const chat = await raw(
    open.url,
    'POST',
    '/v1/chat/completions',
    json,
    JSON.stringify({
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 300,
    }),
  );
  assert.equal(chat.status, 400);
  assert.equal(errorOf(chat).param, 'max_completion_tokens');
  // Within the context it runs, and the default for chat is what the context has left.
  const fits = await raw(
    open.url,
    'POST',
    '/v1/completions',
    json,
    JSON.stringify({ prompt: 'hello', max_tokens: 8 }),
  );
  assert.equal(fits.status, 200);
});

test('the API key must be the whole credential: "Bearer KEY junk" does not pass for KEY', async () => {
  for (const authorization of [
    'Bearer sekret junk',
    'Bearer sekret sekret',
    'Bearersekret',
    'Bearer',
    'Basic sekret',
  ]) {
    const r = await raw(locked.url, 'GET', '/v1/models', { authorization });
    assert.equal(r.status, 401, authorization);
  }
  for (const authorization of [
    'Bearer sekret',
    'bearer sekret',
    'Bearer   sekret',
    `Basic ${Buffer.from('u:sekret').toString('base64')}`,
  ]) {
    const r = await raw(locked.url, 'GET', '/v1/models', { authorization });
    assert.equal(r.status, 200, authorization);
  }
});

test('Host must name this server: DNS-rebinding names are refused, IPs, localhost and --allowed-host pass', async () => {
  const p = port(open.url);
  for (const host of ['evil.example', `evil.example:${p}`, 'localhost.evil.example', 'x']) {
    const r = await raw(open.url, 'GET', '/v1/models', { host });
    assert.equal(r.status, 403, host);
    assert.equal(errorOf(r).code, 'host_not_allowed');
  }
  for (const host of [
    `127.0.0.1:${p}`,
    `localhost:${p}`,
    `[::1]:${p}`,
    '10.0.0.7',
    `my.box:${p}`,
    'MY.BOX.',
  ]) {
    const r = await raw(open.url, 'GET', '/v1/models', { host });
    assert.equal(r.status, 200, host);
  }
});

test('cross-origin requests are refused (a text/plain POST from any page), unless --cors allows the origin', async () => {
  const before = open.logs.length;
  const body = JSON.stringify({ prompt: 'hi', max_tokens: 2 });
  const evil = await raw(
    open.url,
    'POST',
    '/v1/completions',
    { 'content-type': 'text/plain', origin: 'http://evil.example' },
    body,
  );
  assert.equal(evil.status, 403);
  assert.equal(errorOf(evil).code, 'origin_not_allowed');
  assert.equal(evil.headers['access-control-allow-origin'], undefined);
  assert.ok(
    open.logs.slice(before).every((l) => l.generation === undefined),
    'nothing was generated',
  );
  // The server's own page calling back is same-origin.
  const self = await raw(
    open.url,
    'POST',
    '/v1/completions',
    { ...json, origin: `http://127.0.0.1:${port(open.url)}` },
    body,
  );
  assert.equal(self.status, 200);
  // An allowed origin gets CORS headers, and its preflight an answer.
  const app = await raw(
    open.url,
    'POST',
    '/v1/completions',
    { ...json, origin: 'https://app.example' },
    body,
  );
  assert.equal(app.status, 200);
  assert.equal(app.headers['access-control-allow-origin'], 'https://app.example');
  const preflight = await raw(open.url, 'OPTIONS', '/v1/chat/completions', {
    origin: 'https://app.example',
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type',
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
  assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
  assert.equal(preflight.headers['access-control-allow-headers'], 'authorization, content-type');
  const evilPreflight = await raw(open.url, 'OPTIONS', '/v1/chat/completions', {
    origin: 'http://evil.example',
  });
  assert.equal(evilPreflight.status, 403);
});

test('deeply nested bodies are refused before parsing', async () => {
  const depth = 100_000;
  const nested = `{"messages":[{"role":"user","content":${'['.repeat(depth)}${']'.repeat(depth)}}]}`;
  const r = await raw(open.url, 'POST', '/v1/chat/completions', json, nested);
  assert.equal(r.status, 400);
  assert.match(errorOf(r).message, /nests arrays and objects more than 64 deep/);
  // Refused before the body was read, the connection closes with the answer: a keep-alive client's next
  // request goes on a fresh connection instead of being read as the rest of this body.
  assert.equal(r.headers.connection, 'close');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (const body of [nested, JSON.stringify({ prompt: 'hi', max_tokens: 1 })]) {
    const res = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: port(open.url), method: 'POST', path: '/v1/completions', agent },
        (x) => {
          x.resume();
          x.on('end', () => resolve(x.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res, body === nested ? 400 : 200);
  }
  agent.destroy();
  // Too many values (300k token ids) is refused the same way, while the body arrives.
  const ids = await raw(open.url, 'POST', '/v1/completions', json, `{"prompt":[${'1,'.repeat(300_000)}1]}`);
  assert.equal(ids.status, 400);
  assert.match(errorOf(ids).message, /holds more than 262144 array elements and object members/);
  // Brackets inside strings are text, not nesting.
  const text = JSON.stringify({ prompt: '['.repeat(200), max_tokens: 1 });
  assert.equal((await raw(open.url, 'POST', '/v1/completions', json, text)).status, 200);
});

test('a prompt that cannot fit is refused from its length alone, without tokenizing it', async () => {
  const huge = JSON.stringify({ prompt: 'abcdefgh '.repeat(300_000), max_tokens: 1 });
  const r = await raw(open.url, 'POST', '/v1/completions', json, huge);
  assert.equal(r.status, 400);
  assert.equal(errorOf(r).code, 'context_length_exceeded');
  assert.match(errorOf(r).message, /came to at least \d+ tokens/);
  const chat = JSON.stringify({ messages: [{ role: 'user', content: 'abcdefgh '.repeat(300_000) }] });
  const c = await raw(open.url, 'POST', '/v1/chat/completions', json, chat);
  assert.equal(c.status, 400);
  assert.match(errorOf(c).message, /came to at least \d+ tokens/);
});

test('prompts are tokenized off the serving thread', async () => {
  const s = await startServer({ contextLength: 256 });
  // The serving thread's own tokenizer refuses to work: every request must still be answered.
  const tok = s.model.tokenizer;
  tok.encode = () => {
    throw new Error('tokenized on the serving thread');
  };
  const chat = await raw(
    s.url,
    'POST',
    '/v1/chat/completions',
    json,
    JSON.stringify({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi there' },
      ],
      max_tokens: 3,
    }),
  );
  assert.equal(chat.status, 200, chat.body);
  const id = (JSON.parse(chat.body) as { kvsieve: { cache_id: string } }).kvsieve.cache_id;
  const view = await raw(s.url, 'GET', `/v1/kvsieve/cache/${id}`);
  assert.equal(view.status, 200, view.body);
  const segments = (JSON.parse(view.body) as { segments: { role: string }[] }).segments;
  assert.deepEqual(
    segments.map((x) => x.role),
    ['system', 'user', 'assistant'],
  );
  const completion = await raw(
    s.url,
    'POST',
    '/v1/completions',
    json,
    JSON.stringify({ prompt: 'hello', max_tokens: 3 }),
  );
  assert.equal(completion.status, 200, completion.body);
});

test('the cache view of a long conversation maps at most 64 messages, earlier ones as one segment', async () => {
  const messages = Array.from({ length: 100 }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: `m${i}`,
  }));
  const s = await startServer({ contextLength: 8192 });
  const r = await raw(
    s.url,
    'POST',
    '/v1/chat/completions',
    json,
    JSON.stringify({ messages, max_tokens: 2 }),
  );
  assert.equal(r.status, 200, r.body);
  const id = (JSON.parse(r.body) as { kvsieve: { cache_id: string } }).kvsieve.cache_id;
  const view = JSON.parse((await raw(s.url, 'GET', `/v1/kvsieve/cache/${id}`)).body) as {
    segments: { index: number; role: string; start: number; end: number }[];
  };
  assert.equal(view.segments.length, 65);
  assert.equal(view.segments[0].role, 'earlier');
  assert.equal(view.segments[1].index, 37);
  assert.equal(view.segments[63].index, 99);
  for (let i = 1; i < view.segments.length; i++)
    assert.equal(view.segments[i].start, view.segments[i - 1].end);
});

/** Opens a connection and resolves when the server closes it, with whatever it sent. */
function until(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
}

// The test timeouts only guard against a hang: without these limits node waits minutes (300 s by default).
test('a body that trickles in is cut off with a 408; idle connections are closed', {
  timeout: 30_000,
}, async () => {
  const s = await startServer({ requestTimeoutMs: 400, headersTimeoutMs: 400 });
  assert.equal(s.server.http.requestTimeout, 400);
  const slow = connect(port(s.url), '127.0.0.1');
  const slowClosed = until(slow);
  slow.write(
    'POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"pro',
  );
  const idle = connect(port(s.url), '127.0.0.1');
  const idleClosed = until(idle);
  assert.match(await slowClosed, /^HTTP\/1\.1 408/);
  await idleClosed; // closed by the server (the test would time out otherwise)
});

test('open connections are capped: past the limit, new ones are closed at once', {
  timeout: 30_000,
}, async () => {
  const s = await startServer({ maxConnections: 2 });
  const held = [connect(port(s.url), '127.0.0.1'), connect(port(s.url), '127.0.0.1')];
  await Promise.all(held.map((c) => new Promise((r) => c.once('connect', r))));
  const third = connect(port(s.url), '127.0.0.1');
  assert.equal(await until(third), '');
  for (const c of held) c.destroy();
});

test('stats report how long the serving thread was held up since the last stats request', async () => {
  open.server.stats(); // starts a fresh window
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      const until = performance.now() + 150;
      while (performance.now() < until); // 150 ms of work that lets nothing else run
      resolve();
    }, 20),
  );
  await new Promise((r) => setTimeout(r, 30));
  const held = JSON.parse((await raw(open.url, 'GET', '/v1/kvsieve/stats')).body) as {
    event_loop_delay_ms: { max: number };
  };
  assert.ok(held.event_loop_delay_ms.max >= 130, `max ${held.event_loop_delay_ms.max} ms`);
});
