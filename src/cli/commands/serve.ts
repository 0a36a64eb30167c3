import { parseArgs } from 'node:util';
import type { Model } from '../../model/model.js';
import { KvsieveServer, type RequestLogEntry } from '../../server/server.js';
import { UsageError } from '../errors.js';
import { loadFromArgs } from '../load.js';
import {
  CACHE_TYPE_HELP,
  cacheTypeFrom,
  cacheTypeOptions,
  checkCacheTypeFor,
  MODEL_HELP,
  modelOptions,
  num,
  PRESS_HELP,
  pressOptions,
  pressSpecFrom,
} from '../options.js';

export const SERVE_HELP = `kvsieve serve [options]

Serves the model over HTTP: an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions,
streaming included) and a web page at / to chat and watch the KV cache. Requests may set
"kvsieve": {"press": NAME, "ratio": R (or "budget": N), "options": {...}} to compress their cache (options as
kvsieve presses lists them); --press, --ratio and --budget set the press for requests that name none.
Compression is query-aware: chat completions take the last user message as the question, completions a
"kvsieve": {"question": TEXT} asked after the prompt.

${MODEL_HELP}
${PRESS_HELP}
${CACHE_TYPE_HELP}
      --host HOST         address to bind (default 127.0.0.1, this machine only)
      --port N            port (default 8080; 0 picks a free one)
      --api-key KEY       require "Authorization: Bearer KEY" on every route but /health (default: $KVSIEVE_API_KEY)
      --cors ORIGIN       let web pages from ORIGIN (e.g. https://app.example) call the API; "*" for any
                          (repeatable; other sites' pages are refused)
      --allowed-host NAME a host name clients may use besides IP addresses and localhost (repeatable)
      --max-connections N open connections at most (default 128)
      --model-id NAME     the model's name in the API (default: the file name)
      --concurrency N     generations running at once (default 1)
      --max-queue N       requests waiting for a slot before 429s (default 16)
      --context-size N    tokens per request (default: the model's context length)
      --grace S           seconds running requests get to finish at shutdown (default 10)
      --quiet             no request log`;

function logLine(e: RequestLogEntry): string {
  const g = e.generation;
  const tokens = g
    ? ` ${g.promptTokens}+${g.completionTokens} tok ${g.finishReason}${g.queuedMs >= 1 ? `, queued ${Math.round(g.queuedMs)} ms` : ''}`
    : '';
  const error =
    e.error !== undefined
      ? ` ${e.error instanceof Error ? (e.error.stack ?? e.error.message) : String(e.error)}`
      : '';
  return `${new Date().toISOString()} ${e.method} ${e.path} ${e.status} ${Math.round(e.ms)} ms${tokens}${error}\n`;
}

async function loadModel(values: Parameters<typeof loadFromArgs>[0]): Promise<Model> {
  try {
    return await loadFromArgs(values);
  } catch (e) {
    // Startup fails with one line naming the file, whatever went wrong inside the loader.
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot load model ${values.model ?? '(embedded)'}: ${(e as Error).message}`);
  }
}

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      host: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string' },
      'model-id': { type: 'string' },
      concurrency: { type: 'string' },
      'max-queue': { type: 'string' },
      'context-size': { type: 'string' },
      ...pressOptions,
      ...cacheTypeOptions,
      grace: { type: 'string' },
      quiet: { type: 'boolean' },
      cors: { type: 'string', multiple: true },
      'allowed-host': { type: 'string', multiple: true },
      'max-connections': { type: 'string' },
    },
  });
  const cors = values.cors ?? [];
  for (const origin of cors) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new UsageError(
        `--cors takes an origin such as https://app.example (no path) or "*", got "${origin}"`,
      );
    }
  }
  const maxConnections = num(values, 'max-connections', { int: true, min: 1, max: 100_000 });
  const host = values.host ?? '127.0.0.1';
  const port = num(values, 'port', { int: true, min: 0, max: 65535 }) ?? 8080;
  const concurrency = num(values, 'concurrency', { int: true, min: 1, max: 64 }) ?? 1;
  const maxQueue = num(values, 'max-queue', { int: true, min: 0, max: 100_000 }) ?? 16;
  const graceMs = (num(values, 'grace', { min: 0 }) ?? 10) * 1000;
  const press = pressSpecFrom(values);
  const cacheType = cacheTypeFrom(values);
  const apiKey = values['api-key'] ?? process.env.KVSIEVE_API_KEY;
  if (apiKey === '') throw new UsageError('--api-key must not be empty');
  const model = await loadModel(values);
  try {
    checkCacheTypeFor(model.config.headDim, cacheType);
  } catch (e) {
    await model.close();
    throw e;
  }
  const contextSize = num(values, 'context-size', { int: true, min: 1, max: model.config.contextLength });
  const server = new KvsieveServer({
    model,
    modelId: values['model-id'],
    apiKey,
    concurrency,
    maxQueue,
    contextSize,
    defaultPress: press,
    defaultCacheType: cacheType,
    cors,
    allowedHosts: values['allowed-host'],
    maxConnections,
    log: values.quiet ? undefined : (e) => process.stderr.write(logLine(e)),
  });
  try {
    const addr = await server.listen(port, host);
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    process.stderr.write(
      `kvsieve: serving ${server.modelId} at http://${shown}:${addr.port}/ (OpenAI API under /v1)` +
        `${apiKey ? ', API key required' : ''}; Ctrl-C stops\n`,
    );
  } catch (e) {
    await model.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UsageError(`cannot listen on ${host}:${port}: the address is in use`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES')
      throw new UsageError(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
    throw e;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal means "now": exit without waiting for running requests.
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`kvsieve: ${signal}, finishing running requests (up to ${graceMs / 1000} s)\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await server.shutdown(graceMs);
  await model.close();
  process.stderr.write('kvsieve: stopped\n');
}
