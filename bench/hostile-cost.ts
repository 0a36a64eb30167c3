// What each kind of hostile request costs the server's serving thread: the longest the event loop was held up
// while the server handled one such request (its own stats, event-loop delay since the previous stats call),
// over 7 requests of each kind, against an in-process server on the small random-weight model. The goal is
// that no single request holds the thread up more than 100 ms. (The client shares the thread but only writes
// prebuilt bodies; bench/load.ts --hostile measures from a separate process, with a prober.)
//
//   node --import tsx bench/hostile-cost.ts [--threads 2]
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Model } from '../src/model/model.js';
import { KvsieveServer } from '../src/server/server.js';
import { serverBenchModel } from './models.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' } } });
const dir = mkdtempSync(join(tmpdir(), 'kvsieve-hostile-'));
const path = serverBenchModel(dir);
const model = await Model.load(path, { threads: Number(values.threads) });
const server = new KvsieveServer({ model, modelId: 'x' });
const { port } = await server.listen(0);

const MB = 1 << 20;
const words = (n: number) => 'lorem ipsum dolor sit amet '.repeat(Math.ceil(n / 27)).slice(0, n);
const json = (x: unknown) => Buffer.from(JSON.stringify(x));
const kinds: [string, string, Buffer][] = [
  ['3.9 MB completion prompt', '/v1/completions', json({ prompt: words(3.9 * MB) })],
  [
    '3.9 MB chat message',
    '/v1/chat/completions',
    json({ messages: [{ role: 'user', content: words(3.9 * MB) }] }),
  ],
  [
    '3.8 MB of nesting',
    '/v1/chat/completions',
    Buffer.from(`{"messages":${'['.repeat(1.9 * MB)}${']'.repeat(1.9 * MB)}}`),
  ],
  ['1.9 M token ids', '/v1/completions', Buffer.from(`{"prompt":[${'1,'.repeat(1.9 * MB)}1]}`)],
  [
    '3k-char chat past the context',
    '/v1/chat/completions',
    json({ messages: [{ role: 'user', content: words(3072) }] }),
  ],
  [
    '20k-message chat',
    '/v1/chat/completions',
    json({ messages: Array.from({ length: 20_000 }, (_, i) => ({ role: 'user', content: `m${i}` })) }),
  ],
  [
    'small chat (not hostile)',
    '/v1/chat/completions',
    json({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
  ],
];

function send(path: string, body: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? 'error'));
    req.end(body);
  });
}

try {
  process.stdout.write(
    'longest event-loop delay while the server handled one request, 7 requests each (ms)\n',
  );
  for (const [name, route, body] of kinds) {
    const held: number[] = [];
    let status: number | string = 0;
    for (let i = 0; i < 7; i++) {
      server.stats(); // a fresh window
      status = await send(route, body);
      await new Promise((r) => setTimeout(r, 30)); // the histogram's timer runs after the request's work
      held.push(server.stats().event_loop_delay_ms.max);
    }
    held.sort((a, b) => a - b);
    process.stdout.write(
      `${name.padEnd(32)} ${String(status).padEnd(4)} median ${held[3]}  max ${held[6]}  (${held.join(' ')})\n`,
    );
  }
} finally {
  await server.shutdown(0);
  await model.close();
  rmSync(dir, { recursive: true, force: true });
}
