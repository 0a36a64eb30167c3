// Serves the browser build (build/web) with the headers that make its page cross-origin isolated: `kvsieve web`
// serves it at /, `kvsieve serve` at /web/. GET and HEAD only; paths stay inside the folder.
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { ISOLATION_HEADERS } from '../bundle/web-files.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
  '.json': 'application/json; charset=utf-8',
};

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

/** Answers `req` for `path` (the URL path below the build's mount point, starting with '/') from `dir`. */
export function serveWebFile(dir: string, path: string, req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    plain(res, 405, `${method} is not allowed here (GET or HEAD)`, { allow: 'GET, HEAD' });
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    plain(res, 400, 'bad path encoding');
    return;
  }
  // Dot segments of the URL itself are resolved by the URL parser; any left after decoding (an encoded slash)
  // are refused rather than resolved.
  if (decoded.includes('\0') || decoded.split(/[\\/]/).includes('..') || !decoded.startsWith('/')) {
    plain(res, 400, 'bad path');
    return;
  }
  const rel = normalize(decoded.endsWith('/') ? `${decoded}index.html` : decoded);
  const file = join(dir, rel);
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) {
    plain(res, 404, `no file ${decoded} in the web build`);
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': String(stat.size),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'same-origin',
    ...ISOLATION_HEADERS,
  });
  if (method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** A server for the build in `dir` alone, mounted at / (`kvsieve web`). */
export function createWebServer(dir: string): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    serveWebFile(dir, path, req, res);
  });
}
