import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_WEB_DIR, hasWebBuild } from '../../bundle/web-files.js';
import { createWebServer } from '../../server/static-web.js';
import { UsageError } from '../errors.js';
import { num } from '../options.js';

export const WEB_HELP = `kvsieve web [options]

Serves the in-browser page: the model runs in your browser tab (WebAssembly on Web Workers), not on this
machine. Pick a GGUF model (the embedded demo model is offered), a press and a ratio, paste or drop a long
document and ask about it; the page shows the streamed answer, the kept fraction, the KV-cache bytes, tokens/s
and which tokens each KV head kept. Once loaded it works without a network. The page needs the headers
"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp", which this server
sends; the static build (npm run build:web, build/web) can be hosted anywhere that sends them.
kvsieve serve offers the same page at /web/.

      --host HOST         address to bind (default 127.0.0.1, this machine only)
      --port N            port (default 8090; 0 picks a free one)
      --dir DIR           serve this web build (default: build/web of this package)
      --build             build the page first (needs the dev dependency esbuild)`;

async function build(dir: string): Promise<void> {
  let bundler: typeof import('../../bundle/web.js');
  try {
    bundler = await import('../../bundle/web.js');
  } catch (e) {
    throw new UsageError(
      `cannot build the page here (${(e as Error).message}); run \`npm run build:web\` in a checkout with its dev dependencies`,
    );
  }
  const b = await bundler.buildWeb(dir);
  process.stderr.write(`kvsieve: built the page into ${b.dir}\n`);
}

export async function webCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      dir: { type: 'string' },
      build: { type: 'boolean' },
    },
  });
  const host = values.host ?? '127.0.0.1';
  const port = num(values, 'port', { int: true, min: 0, max: 65535 }) ?? 8090;
  const dir = values.dir === undefined ? DEFAULT_WEB_DIR : resolve(values.dir);
  if (values.build || (values.dir === undefined && !hasWebBuild(dir))) await build(dir);
  if (!hasWebBuild(dir)) throw new UsageError(`${dir} holds no web build (run \`npm run build:web\`)`);
  const server = createWebServer(dir);
  const addr = await new Promise<AddressInfo>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        ['EADDRINUSE', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EACCES'].includes(e.code ?? '')
          ? new UsageError(`cannot listen on ${host}:${port}: ${e.message}`)
          : e,
      ),
    );
    server.listen(port, host, () => ok(server.address() as AddressInfo));
  });
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stderr.write(`kvsieve: the in-browser page is at http://${shown}:${addr.port}/ (Ctrl-C stops)\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  process.stderr.write('kvsieve: stopped\n');
}
