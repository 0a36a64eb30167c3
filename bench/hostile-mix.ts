// The hostile half of `bench/load.ts --hostile`: for a number of seconds, keeps a mix of requests meant to
// stall a server going at it, and prints a JSON summary of what they got. "one" sends one hostile request at
// a time (the kinds in turn: what any single request costs everyone else); "flood" keeps a few of each kind
// in flight (about a dozen at once, which saturates a 2-core machine). Slow bodies and idle connections are
// held open in both. Runs as its own process so that building megabyte bodies never delays the prober.
//
//   node --import tsx bench/hostile-mix.ts http://127.0.0.1:PORT SECONDS CONTEXT one|flood
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

const [url, secondsArg, contextArg, mode] = process.argv.slice(2);
const seconds = Number(secondsArg);
const context = Number(contextArg);
if (!url || !Number.isFinite(seconds) || !Number.isInteger(context) || (mode !== 'one' && mode !== 'flood')) {
  throw new RangeError('usage: hostile-mix.ts URL SECONDS CONTEXT one|flood');
}
const { hostname, port } = new URL(url);

/** Each kind: a body (built once), the path it goes to, and how many of it are kept in flight. */
interface Kind {
  name: string;
  path: string;
  body: Buffer;
  inFlight: number;
  contentType?: string;
}

const MB = 1 << 20;
const words = (n: number) => 'lorem ipsum dolor sit amet '.repeat(Math.ceil(n / 27)).slice(0, n);
// A prompt that passes the length estimate (about 4 chars per token here) but not the context: it must be
// tokenized, by a worker, before it can be refused.
const nearLimit = words(context * 3);
const kinds: Kind[] = [
  // 3.9 MB prompts, as completion and as chat: refused from their length (the chat one after rendering).
  { name: 'huge-completion', path: '/v1/completions', body: json({ prompt: words(3.9 * MB) }), inFlight: 2 },
  {
    name: 'huge-chat',
    path: '/v1/chat/completions',
    body: json({ messages: [{ role: 'user', content: words(3.9 * MB) }] }),
    inFlight: 2,
  },
  // 3.8 MB of nesting.
  {
    name: 'deep-json',
    path: '/v1/chat/completions',
    body: Buffer.from(`{"messages":${'['.repeat(1.9 * MB)}${']'.repeat(1.9 * MB)}}`),
    inFlight: 2,
  },
  // 1.9 million token ids in 3.8 MB (refused while it arrives: too many values).
  {
    name: 'token-array',
    path: '/v1/completions',
    body: Buffer.from(`{"prompt":[${'1,'.repeat(1.9 * MB)}1]}`),
    inFlight: 1,
  },
  {
    name: 'near-limit-chat',
    path: '/v1/chat/completions',
    body: json({ messages: [{ role: 'user', content: nearLimit }] }),
    inFlight: 2,
  },
  {
    name: 'many-messages',
    path: '/v1/chat/completions',
    body: json({ messages: Array.from({ length: 20_000 }, (_, i) => ({ role: 'user', content: `m${i}` })) }),
    inFlight: 1,
  },
  // A cross-site "simple" POST.
  {
    name: 'cross-origin',
    path: '/v1/completions',
    body: json({ prompt: 'hi', max_tokens: 1 }),
    inFlight: 2,
    contentType: 'text/plain',
  },
];

function json(x: unknown): Buffer {
  return Buffer.from(JSON.stringify(x));
}

const counts: Record<string, Record<string, number>> = {};
const note = (kind: string, outcome: string) => {
  counts[kind] ??= {};
  counts[kind][outcome] = (counts[kind][outcome] ?? 0) + 1;
};

const end = Date.now() + seconds * 1000;
/** Set when the mix ends: closes from then on are ours, not the server's. */
let ending = false;

/** One request; its outcome is the status it got, or the error that ended it first. */
function send(k: Kind): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: string) => {
      if (settled) return;
      settled = true;
      note(k.name, outcome);
      resolve();
    };
    const headers: Record<string, string> = { 'content-type': k.contentType ?? 'application/json' };
    if (k.name === 'cross-origin') headers.origin = 'http://evil.example';
    const req = request({ hostname, port, method: 'POST', path: k.path, headers }, (res) => {
      // The status counts as soon as it arrives: a refused body's connection may close under the upload.
      settle(String(res.statusCode));
      res.resume();
    });
    req.on('error', (e) => settle((e as NodeJS.ErrnoException).code ?? 'error'));
    req.end(k.body);
  });
}

async function keepSending(k: Kind): Promise<void> {
  while (Date.now() < end) await send(k);
}

/** Slow bodies: headers, then a byte now and then, re-opened when the server cuts them off. */
async function slowBodies(n: number): Promise<void> {
  const open = new Set<Socket>();
  const start = () => {
    const s = connect(Number(port), hostname);
    open.add(s);
    // Written now, so it goes out first (writes before the connection opens are queued in order).
    s.write(`POST /v1/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-length: 1000000\r\n\r\n{`);
    s.on('error', () => undefined);
    s.on('close', () => {
      open.delete(s);
      if (ending) return;
      note('slow-body', 'closed by server');
      if (Date.now() < end) start();
    });
  };
  for (let i = 0; i < n; i++) start();
  while (Date.now() < end) {
    for (const s of open) if (!s.destroyed) s.write('"');
    await new Promise((r) => setTimeout(r, 500));
  }
  ending = true;
  for (const s of open) s.destroy();
}

/** Connections that never send anything. */
async function idle(n: number): Promise<void> {
  const sockets = Array.from({ length: n }, () => {
    const s = connect(Number(port), hostname);
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!ending) note('idle', 'closed by server');
    });
    return s;
  });
  while (Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  ending = true;
  for (const s of sockets) s.destroy();
}

/** One hostile request at a time, the kinds in turn. */
async function oneAtATime(): Promise<void> {
  for (let i = 0; Date.now() < end; i++) await send(kinds[i % kinds.length]);
}

await Promise.all([
  ...(mode === 'one'
    ? [oneAtATime()]
    : kinds.flatMap((k) => Array.from({ length: k.inFlight }, () => keepSending(k)))),
  slowBodies(16),
  idle(16),
]);
process.stdout.write(`${JSON.stringify(counts)}\n`);
