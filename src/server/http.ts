// Small node:http helpers: bounded JSON bodies, JSON and error replies, and server-sent events.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, invalid } from './errors.js';

/** Deepest nesting of arrays and objects a request body may have; OpenAI requests need about 5. */
export const MAX_JSON_DEPTH = 64;
/**
 * Most array elements and object members in a body: JSON.parse takes about 50 ms per 10^6 of them, so this
 * keeps any one body's parse near 10 ms, and still takes a token-array prompt for a 128k-token context.
 */
export const MAX_JSON_VALUES = 1 << 18;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/**
 * The shape of JSON text as it streams in: nesting depth and number of values, counted outside strings one
 * chunk at a time, so a megabyte of `[[[[...` or of `1,1,1,...` is refused while it arrives instead of being
 * parsed (and walked by the validators) for seconds while every other request waits.
 */
export class JsonShape {
  private depth = 0;
  private values = 0;
  private inString = false;
  private escaped = false;

  constructor(
    private readonly maxDepth = MAX_JSON_DEPTH,
    private readonly maxValues = MAX_JSON_VALUES,
  ) {}

  /** Scans the next chunk; returns a problem in words, or undefined. */
  push(bytes: Uint8Array): string | undefined {
    let { depth, values, inString, escaped } = this;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
      } else if (b === QUOTE) inString = true;
      else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
        values++;
        if (++depth > this.maxDepth) return `nests arrays and objects more than ${this.maxDepth} deep`;
      } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
      else if (b === COMMA && ++values > this.maxValues) {
        return `holds more than ${this.maxValues} array elements and object members`;
      }
    }
    Object.assign(this, { depth, values, inString, escaped });
    return undefined;
  }
}

/**
 * Reads and parses a JSON object body, refusing more than `limit` bytes (413), nesting deeper than `maxDepth`
 * or more than MAX_JSON_VALUES values (400, while the body arrives), and anything not JSON (400). The bytes
 * are checked chunk by chunk as they arrive, and the parse runs as a task of its own, so no single step of
 * a big body holds the thread for long.
 */
export async function readJsonObject(
  req: IncomingMessage,
  limit: number,
  maxDepth = MAX_JSON_DEPTH,
): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const shape = new JsonShape(maxDepth);
  // With a declared length, chunks are copied into place as they arrive (no 4 MB copy at the end).
  const whole = Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (size + chunk.length > limit) throw tooLarge(limit);
    // Stop reading at once: an oversized or malformed body is not buffered only to be thrown away.
    const problem = shape.push(chunk);
    if (problem) throw invalid(`the request body ${problem}`);
    if (whole && size + chunk.length <= whole.length) chunk.copy(whole, size);
    else chunks.push(chunk);
    size += chunk.length;
  }
  const bytes = whole && chunks.length === 0 ? whole.subarray(0, size) : Buffer.concat(chunks);
  // Decoding and parsing a few megabytes take some 20 ms each: separate tasks, so other requests run between.
  await new Promise((resolve) => setImmediate(resolve));
  const text = bytes.toString('utf8');
  await new Promise((resolve) => setImmediate(resolve));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw invalid(`the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `the request body is larger than ${limit} bytes`, 'invalid_request_error');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ApiError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, e.status, e.body, headers);
}

/** A server-sent-event stream in the framing OpenAI uses: `data: <json>\n\n` events, then `data: [DONE]`. */
export class EventStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
  }

  send(data: unknown): void {
    // Events are a few hundred bytes and their number is bounded by max_tokens, so a slow reader costs at
    // most one completion's worth of buffered text; waiting for 'drain' would hold the model for everyone.
    if (!this.res.destroyed) this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    if (!this.res.destroyed) this.res.end('data: [DONE]\n\n');
  }

  /** Ends the stream with an error event, which OpenAI's clients raise as an APIError. */
  fail(e: ApiError): void {
    if (!this.res.destroyed) this.res.end(`data: ${JSON.stringify(e.body)}\n\n`);
  }
}
