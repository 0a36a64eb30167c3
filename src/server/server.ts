// The HTTP server: OpenAI-compatible routes, the kvsieve extensions (cache view, stats), the web page, the
// Host/Origin checks and the API key on every route, limits on slow clients and open connections, and
// graceful shutdown.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULT_WEB_DIR, hasWebBuild } from '../bundle/web-files.js';
import type { CacheType } from '../cache/cache-type.js';
import type { Model } from '../model/model.js';
import { packageRoot } from '../paths.js';
import { describePresses, type PressSpec } from '../presses/index.js';
import { keyChecker } from './auth.js';
import { describeSnapshot, SnapshotStore } from './cache-view.js';
import { ApiError, modelNotFound, notFound, toApiError } from './errors.js';
import { type Endpoint, type GenerationDeps, type GenerationRecord, handleGeneration } from './generation.js';
import { MAX_JSON_DEPTH, readJsonObject, sendError, sendJson } from './http.js';
import { Limiter } from './limiter.js';
import { corsHeaders, hostAllowed, type OriginPolicy, originVerdict } from './origin.js';
import { PromptWorkers } from './prompt-workers.js';
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
  /** Deepest nesting of arrays and objects in a body (default 64). */
  maxJsonDepth?: number;
  /** Host names the Host header may carry besides IP addresses and localhost ("*": any). */
  allowedHosts?: string[];
  /** Origins whose web pages may call the API ("*": any); other cross-origin requests get a 403. */
  cors?: string[];
  /** Time a client has to send its whole request, headers and body (default 60 s): slow bodies end in a 408. */
  requestTimeoutMs?: number;
  /** Time a client has to send the request headers (default 15 s). */
  headersTimeoutMs?: number;
  /** Open connections at most (default 128); past it, new connections are closed at once. */
  maxConnections?: number;
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
  /**
   * How late the serving thread ran its timers since the previous stats request (or the start): the longest
   * stretch any one piece of work held up every other request.
   */
  event_loop_delay_ms: { p50: number; p99: number; max: number };
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
  private readonly prompts: PromptWorkers;
  private readonly origins: OriginPolicy;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ServerOptions) {
    this.modelId = opts.modelId ?? basename(opts.model.path).replace(/\.gguf$/i, '');
    this.limiter = new Limiter(opts.concurrency ?? 1, opts.maxQueue ?? 16);
    this.snapshots = new SnapshotStore(opts.snapshots ?? 16);
    this.authorized = keyChecker(opts.apiKey);
    this.origins = { allowedHosts: opts.allowedHosts, cors: opts.cors };
    this.page = readFileSync(PAGE_PATH, 'utf8');
    const requestTimeout = opts.requestTimeoutMs ?? 60_000;
    const headersTimeout = Math.min(opts.headersTimeoutMs ?? 15_000, requestTimeout);
    this.http = createServer(
      {
        requestTimeout,
        headersTimeout,
        // Node checks the two timeouts above on this interval (30 s by default, too coarse for them).
        connectionsCheckingInterval: Math.max(10, Math.min(1000, headersTimeout / 4)),
      },
      (req, res) => void this.handle(req, res),
    );
    this.http.maxConnections = opts.maxConnections ?? 128;
    this.prompts = new PromptWorkers(opts.model);
    this.loopDelay.enable();
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
    // The histogram counts the timer's own 10 ms resolution in every sample; that is taken off.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e6 - 10));
    const h = this.loopDelay;
    const delay =
      h.count > 0
        ? { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }
        : { p50: 0, p99: 0, max: 0 };
    h.reset();
    return {
      event_loop_delay_ms: delay,
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
      await this.prompts.close();
      this.loopDelay.disable();
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
      if (!this.browserAllowed(method, req, res)) return;
      // Health checks need no key (nothing is disclosed), as in llama.cpp's server.
      if (path === '/health') {
        allowGet(method, path, res);
        sendJson(res, 200, { status: 'ok' });
        return;
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
        const headers: Record<string, string> = api.status === 429 ? { 'retry-after': '1' } : {};
        // Refused before its body was read (too large, too deep): the rest of it would be taken for the next
        // request on this connection, so the connection ends with the answer.
        if (!req.complete) headers.connection = 'close';
        sendError(res, api, headers);
      }
    } finally {
      const status = gone ? 499 : res.statusCode;
      this.opts.log?.({ method, path, status, ms: performance.now() - t0, generation, error });
    }
  }

  /**
   * The Host and Origin checks (DNS rebinding, other sites' pages), and CORS preflights. Returns false when it
   * has answered the request itself.
   */
  private browserAllowed(method: string, req: IncomingMessage, res: ServerResponse): boolean {
    const host = req.headers.host;
    if (!hostAllowed(host, this.origins)) {
      throw new ApiError(
        403,
        `Host "${host}" is not this server's; start it with --allowed-host NAME to serve that name`,
        'invalid_request_error',
        null,
        'host_not_allowed',
      );
    }
    const origin = req.headers.origin;
    const verdict = originVerdict(origin, host, this.origins);
    if (verdict === 'refused') {
      throw new ApiError(
        403,
        `cross-origin requests from ${origin} are refused; start the server with --cors ${origin} to allow them`,
        'invalid_request_error',
        null,
        'origin_not_allowed',
      );
    }
    const preflight = method === 'OPTIONS';
    if (verdict === 'allowed' && origin !== undefined) {
      const asked = req.headers['access-control-request-headers'];
      for (const [k, v] of Object.entries(corsHeaders(origin, preflight ? (asked ?? '') : undefined))) {
        res.setHeader(k, v);
      }
    }
    if (preflight) {
      res.writeHead(204, { allow: 'GET, HEAD, POST, OPTIONS' });
      res.end();
      return false;
    }
    return true;
  }

  private async route(
    method: string,
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    record: (r: GenerationRecord) => void,
  ): Promise<void> {
    const allow = (m: string) => {
      if (m === 'GET') allowGet(method, path, res);
      else if (method !== m) {
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
      if (id !== encodeURIComponent(this.modelId)) {
        throw modelNotFound(decodeURIComponentSafe(id), this.modelId);
      }
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
      const body = await readJsonObject(
        req,
        this.opts.maxBodyBytes ?? 4 << 20,
        this.opts.maxJsonDepth ?? MAX_JSON_DEPTH,
      );
      await handleGeneration(this.deps(), endpoint, body, res, record);
      return;
    }
    if (path.startsWith('/v1/kvsieve/cache/')) {
      allow('GET');
      const id = path.slice('/v1/kvsieve/cache/'.length);
      const snapshot = this.snapshots.get(id);
      if (!snapshot) throw notFound(`no cache view for "${id}" (only the most recent requests' are kept)`);
      sendJson(res, 200, await describeSnapshot(snapshot));
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
      prompts: this.prompts,
    };
  }
}

/** GET routes answer HEAD too (node sends the headers, content-length included, without the body). */
function allowGet(method: string, path: string, res: ServerResponse): void {
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    throw new ApiError(405, `${method} is not allowed on ${path} (use GET)`, 'invalid_request_error');
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
