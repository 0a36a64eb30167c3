// The HTTP server: OpenAI-compatible routes, the kvsieve extensions (cache view, stats), the web page, the
// API key check on every route, and graceful shutdown.

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { DEFAULT_WEB_DIR, hasWebBuild } from '../bundle/web-files.js';
import type { CacheType } from '../cache/cache-type.js';
import type { Model } from '../model/model.js';
import { packageRoot } from '../paths.js';
import { describePresses, type PressSpec } from '../presses/index.js';
import { keyChecker } from './auth.js';
import { describeSnapshot, SnapshotStore } from './cache-view.js';
import { ApiError, notFound, toApiError } from './errors.js';
import { type Endpoint, type GenerationDeps, type GenerationRecord, handleGeneration } from './generation.js';
import { readJsonObject, sendError, sendJson } from './http.js';
import { Limiter } from './limiter.js';
import { serveWebFile } from './static-web.js';

export interface ServerOptions {
  model: Model;
  /** The id clients name in `model` and see in /v1/models (default: the file name without .gguf). */
  modelId?: string;
  apiKey?: string;
  /** Generations running at once (default 1). */
  concurrency?: number;
  /** Requests waiting for a slot before the next gets a 429 (default 16). */
  maxQueue?: number;
  /** Context size per request (default: the model's trained context). */
  contextSize?: number;
  /** Press for requests that name none. */
  defaultPress?: PressSpec;
  /** Cache storage when a request names none (`--cache-type-k/-v`). */
  defaultCacheType?: Partial<CacheType>;
  /** Largest request body (default 4 MiB). */
  maxBodyBytes?: number;
  /** Finished requests whose cache view stays available (default 16). */
  snapshots?: number;
  /** The in-browser page's build, served at /web/ (default build/web, see `npm run build:web`). */
  webDir?: string;
  log?: (entry: RequestLogEntry) => void;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  /** 499 when the client went away before the answer was complete (nginx's convention). */
  status: number;
  ms: number;
  generation?: GenerationRecord;
  /** Set for 500s, which are bugs. */
  error?: unknown;
}

export interface ServerStats {
  running: number;
  queued: number;
  concurrency: number;
  max_queue: number;
  /** Heap bytes held by the KV caches of requests in flight. */
  live_kv_bytes: number;
}

const PAGE_PATH = join(packageRoot, 'src', 'server', 'page.html');

export class KvsieveServer {
  readonly http: Server;
  readonly modelId: string;
  private readonly limiter: Limiter;
  private readonly snapshots: SnapshotStore;
  private readonly inflight = new Set<AbortController>();
  private readonly caches = new Set<() => number>();
  private readonly authorized: (req: IncomingMessage) => boolean;
  private readonly page: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ServerOptions) {
    this.modelId = opts.modelId ?? basename(opts.model.path).replace(/\.gguf$/i, '');
    this.limiter = new Limiter(opts.concurrency ?? 1, opts.maxQueue ?? 16);
    this.snapshots = new SnapshotStore(opts.snapshots ?? 16);
    this.authorized = keyChecker(opts.apiKey);
    this.page = readFileSync(PAGE_PATH, 'utf8');
    this.http = createServer((req, res) => void this.handle(req, res));
  }

  /** Starts listening (loopback unless told otherwise); port 0 picks a free port. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  stats(): ServerStats {
    let live = 0;
    for (const bytes of this.caches) live += bytes();
    return {
      running: this.limiter.active,
      queued: this.limiter.queued,
      concurrency: this.limiter.concurrency,
      max_queue: this.limiter.maxQueue,
      live_kv_bytes: live,
    };
  }

  /**
   * Stops taking requests, refuses the queued ones (503), lets running generations finish for up to `graceMs`,
   * then aborts what is left and closes every connection. The model stays open: it belongs to the caller.
   */
  shutdown(graceMs = 10_000): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      const gone = new ApiError(
        503,
        'the server is shutting down',
        'unavailable_error',
        null,
        'shutting_down',
      );
      this.limiter.refuseWaiting(gone);
      const deadline = Date.now() + graceMs;
      while (this.inflight.size > 0 && Date.now() < deadline) await sleep(20);
      for (const a of this.inflight) a.abort(gone);
      while (this.inflight.size > 0) await sleep(5);
      this.http.closeAllConnections();
      await closed;
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let generation: GenerationRecord | undefined;
    let error: unknown;
    let gone = false;
    res.on('close', () => {
      gone = !res.writableFinished;
    });
    try {
      if (this.closing) {
        res.setHeader('connection', 'close');
        throw new ApiError(503, 'the server is shutting down', 'unavailable_error', null, 'shutting_down');
      }
      if (!this.authorized(req)) {
        // Browsers show a login box for Basic auth, which is how the web page gets the key.
        sendError(
          res,
          new ApiError(401, 'missing or invalid API key', 'authentication_error', null, 'invalid_api_key'),
          path === '/' ? { 'www-authenticate': 'Basic realm="kvsieve", charset="UTF-8"' } : {},
        );
        return;
      }
      await this.route(method, path, req, res, (r) => {
        generation = r;
      });
    } catch (e) {
      // A client that left (say, while queued) needs no answer; anything else that is no ApiError is a bug.
      if (!gone) {
        const api = toApiError(e);
        if (!(e instanceof ApiError)) error = e;
        sendError(res, api, api.status === 429 ? { 'retry-after': '1' } : {});
      }
    } finally {
      const status = gone ? 499 : res.statusCode;
      this.opts.log?.({ method, path, status, ms: performance.now() - t0, generation, error });
    }
  }

  private async route(
    method: string,
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    record: (r: GenerationRecord) => void,
  ): Promise<void> {
    const allow = (m: string) => {
      if (method !== m) {
        res.setHeader('allow', m);
        throw new ApiError(405, `${method} is not allowed on ${path} (use ${m})`, 'invalid_request_error');
      }
    };
    if (path === '/' || path === '/index.html') {
      allow('GET');
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        // The page is self-contained: nothing from elsewhere may load into it.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
      });
      res.end(this.page);
      return;
    }
    if (path === '/web' || path.startsWith('/web/')) {
      // The page that runs a model in the browser itself (src/web), with its own cross-origin isolation headers.
      const dir = this.opts.webDir ?? DEFAULT_WEB_DIR;
      if (!hasWebBuild(dir)) throw notFound('the in-browser page is not built here (npm run build:web)');
      if (path === '/web') {
        res.writeHead(308, { location: '/web/' });
        res.end();
        return;
      }
      serveWebFile(dir, path.slice('/web'.length), req, res);
      return;
    }
    if (path === '/v1/models') {
      allow('GET');
      sendJson(res, 200, { object: 'list', data: [this.modelObject()] });
      return;
    }
    if (path.startsWith('/v1/models/')) {
      allow('GET');
      const id = path.slice('/v1/models/'.length);
      if (id !== encodeURIComponent(this.modelId))
        throw notFound(`no model "${id}" here; this server has "${this.modelId}"`);
      sendJson(res, 200, this.modelObject());
      return;
    }
    const endpoints: Record<string, Endpoint> = {
      '/v1/chat/completions': 'chat',
      '/v1/completions': 'completion',
    };
    const endpoint = endpoints[path];
    if (endpoint !== undefined) {
      allow('POST');
      const body = await readJsonObject(req, this.opts.maxBodyBytes ?? 4 << 20);
      await handleGeneration(this.deps(), endpoint, body, res, record);
      return;
    }
    if (path.startsWith('/v1/kvsieve/cache/')) {
      allow('GET');
      const id = path.slice('/v1/kvsieve/cache/'.length);
      const snapshot = this.snapshots.get(id);
      if (!snapshot) throw notFound(`no cache view for "${id}" (only the most recent requests' are kept)`);
      sendJson(res, 200, describeSnapshot(snapshot));
      return;
    }
    if (path === '/v1/kvsieve/stats') {
      allow('GET');
      sendJson(res, 200, { object: 'kvsieve.stats', ...this.stats() });
      return;
    }
    throw notFound(`no route ${method} ${path}`);
  }

  private modelObject() {
    const c = this.opts.model.config;
    return {
      id: this.modelId,
      object: 'model',
      created: this.created,
      owned_by: 'kvsieve',
      kvsieve: {
        architecture: c.arch,
        context_length: this.opts.contextSize ?? c.contextLength,
        n_layers: c.nLayers,
        n_kv_heads: c.nKvHeads,
        vocab_size: c.vocabSize,
        presses: describePresses(),
      },
    };
  }

  private deps(): GenerationDeps {
    return {
      model: this.opts.model,
      modelId: this.modelId,
      limiter: this.limiter,
      contextSize: this.opts.contextSize,
      defaultPress: this.opts.defaultPress,
      defaultCacheType: this.opts.defaultCacheType,
      inflight: this.inflight,
      track: (bytes) => {
        this.caches.add(bytes);
        return () => this.caches.delete(bytes);
      },
      keepSnapshot: (s) => this.snapshots.put(s),
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
