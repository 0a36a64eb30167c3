// Behaviour under load: the bounded queue and its 429s, client disconnects (queued or running) and graceful
// shutdown. Requests go over raw node:http so the tests control exactly when a connection closes.
import assert from 'node:assert/strict';
import { type ClientRequest, request } from 'node:http';
import { test } from 'node:test';
import { startServer, type TestServer, waitFor } from './helpers.js';

// A longer context makes a long generation take a while (hundreds of ms), so a test can act mid-way.
const LONG = 900;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a POST; `onData` sees the body as it streams (and may destroy the request). */
function send(
  url: string,
  path: string,
  body: unknown,
  onData?: (text: string, req: ClientRequest) => void,
): { req: ClientRequest; reply: Promise<Reply> } {
  const req = request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  const reply = new Promise<Reply>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        onData?.(text, req);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
  });
  req.end(JSON.stringify(body));
  return { req, reply };
}

const longStream = { prompt: 'Once upon a time', max_tokens: LONG, temperature: 0, stream: true };

function lastLog(s: TestServer) {
  return s.logs[s.logs.length - 1];
}

test('beyond the running slot and the queue, requests get a 429 at once; the admitted ones all finish', async () => {
  const s = await startServer({ contextLength: 1024, concurrency: 1, maxQueue: 2 });
  const sent = Array.from({ length: 5 }, () =>
    send(s.url, '/v1/completions', { prompt: 'Hello', max_tokens: 300, temperature: 0, stream: true }),
  );
  const replies = await Promise.all(sent.map((r) => r.reply));
  const ok = replies.filter((r) => r.status === 200);
  const refused = replies.filter((r) => r.status === 429);
  assert.equal(ok.length, 3, 'one running + two queued');
  assert.equal(refused.length, 2);
  for (const r of ok) assert.match(r.body, /"finish_reason":"length"[^\n]*\n\ndata: \[DONE\]\n\n$/);
  for (const r of refused) {
    const { error } = JSON.parse(r.body) as { error: { type: string; code: string } };
    assert.equal(error.type, 'rate_limit_error');
    assert.equal(error.code, 'queue_full');
    assert.equal(r.headers['retry-after'], '1');
  }
  const served = s.logs.filter((l) => l.status === 200);
  assert.ok(
    served.some((l) => (l.generation?.queuedMs ?? 0) > 0),
    'the queued requests waited for the running one',
  );
  const { event_loop_delay_ms: _delay, ...counts } = s.server.stats();
  assert.deepEqual(counts, {
    running: 0,
    queued: 0,
    concurrency: 1,
    max_queue: 2,
    live_kv_bytes: 0,
  });
});

test('a client that disconnects mid-stream aborts its generation and frees its cache', async () => {
  const s = await startServer({ contextLength: 1024 });
  let bytesWhileRunning = 0;
  const { reply } = send(s.url, '/v1/completions', longStream, (text, req) => {
    if (text.includes('"text"') && !req.destroyed) {
      bytesWhileRunning = s.server.stats().live_kv_bytes;
      req.destroy();
    }
  });
  await assert.rejects(reply, /socket hang up|aborted|ECONNRESET/);
  await waitFor(() => s.logs.length === 1);
  assert.ok(bytesWhileRunning > 0, 'the running request held a cache');
  const log = lastLog(s);
  assert.equal(log.status, 499);
  assert.equal(log.generation?.finishReason, 'abort');
  assert.ok(
    (log.generation?.completionTokens ?? LONG) < LONG / 2,
    `stopped after ${log.generation?.completionTokens}`,
  );
  assert.deepEqual(s.server.stats().live_kv_bytes, 0);
  assert.equal(s.server.stats().running, 0);
});

test('a client that disconnects while queued leaves the queue; the running request is unaffected', async () => {
  const s = await startServer({ contextLength: 1024 });
  const first = send(s.url, '/v1/completions', { ...longStream, stream: false });
  await waitFor(() => s.server.stats().running === 1);
  const queued = send(s.url, '/v1/completions', longStream);
  queued.reply.catch(() => {});
  await waitFor(() => s.server.stats().queued === 1);
  queued.req.destroy();
  await waitFor(() => s.server.stats().queued === 0);
  const done = await first.reply;
  assert.equal(done.status, 200);
  assert.equal(JSON.parse(done.body).usage.completion_tokens, LONG);
  await waitFor(() => s.logs.length === 2);
  assert.deepEqual(
    s.logs.map((l) => l.status),
    [499, 200],
  );
  assert.equal(s.logs[0].generation?.finishReason, 'refused', 'the queued request never generated');
});

test('graceful shutdown: short requests finish, queued ones get 503, long ones end with an error event', async () => {
  const s = await startServer({ contextLength: 1024 });
  let finishing: Promise<void> | undefined;
  // Shut down as soon as the first token arrives: the request is running then.
  const short = send(s.url, '/v1/completions', { ...longStream, max_tokens: 100 }, () => {
    finishing ??= s.server.shutdown(5000);
  });
  const r = await short.reply;
  assert.equal(r.status, 200);
  assert.match(
    r.body,
    /"finish_reason":"length"[^\n]*\n\ndata: \[DONE\]\n\n$/,
    'it finished in the grace period',
  );
  await finishing;
  await assert.rejects(fetch(`${s.url}/v1/models`), 'no new connections after shutdown');

  const t = await startServer({ contextLength: 1024 });
  const long = send(t.url, '/v1/completions', longStream);
  await waitFor(() => t.server.stats().running === 1);
  const queued = send(t.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] });
  await waitFor(() => t.server.stats().queued === 1);
  await t.server.shutdown(50);
  const q = await queued.reply;
  assert.equal(q.status, 503);
  assert.equal(JSON.parse(q.body).error.code, 'shutting_down');
  const l = await long.reply;
  assert.equal(l.status, 200);
  assert.match(l.body, /data: \{"error":\{"message":"the server is shutting down"[^\n]*\n\n$/);
  assert.equal(t.server.stats().live_kv_bytes, 0);
});

test('with concurrency > 1, interleaved generations give the same answers as one at a time', async () => {
  const s = await startServer({ concurrency: 3 });
  const bodies = ['Once upon a time', 'The little dog', 'In the morning'].map((prompt, i) => ({
    prompt,
    max_tokens: 40,
    temperature: 0,
    ...(i === 1 ? { kvsieve: { press: 'streaming', budget: 16 } } : {}),
  }));
  const textOf = (r: Reply) => (JSON.parse(r.body) as { choices: { text: string }[] }).choices[0].text;
  const alone: string[] = [];
  for (const b of bodies) alone.push(textOf(await send(s.url, '/v1/completions', b).reply));
  const together = await Promise.all(bodies.map((b) => send(s.url, '/v1/completions', b).reply));
  assert.ok(
    s.logs.slice(-3).every((l) => (l.generation?.queuedMs ?? 0) < 1),
    'all three ran at once',
  );
  assert.deepEqual(together.map(textOf), alone);
});
