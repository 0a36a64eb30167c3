// The page's engine: a dedicated worker that loads the model (its kernel threads are workers of this one),
// builds passkey demos, and answers questions about documents, streaming tokens back to the page.
import { describePresses, Model } from '../api.js';
import { passkeySample } from '../bench/tasks/passkey.js';
import { askDocument, documentPrompt } from '../generate/document.js';
import { describeSnapshot, snapshotCache } from '../server/cache-view.js';
import type { Segment } from '../server/prompt.js';
import type { CacheView, FromEngine, ModelChoice, RunStats, ToEngine } from './protocol.js';

interface Scope {
  postMessage(message: FromEngine): void;
  onmessage: ((e: MessageEvent<ToEngine>) => void) | null;
}
const scope = globalThis as unknown as Scope;
const post = (m: FromEngine) => scope.postMessage(m);

let model: Model | undefined;
let running: AbortController | undefined;
let runs = 0;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Progress for the page at most every 100 ms (a download reports every chunk), and always at the end. */
function throttled(phase: 'download' | 'load'): (done: number, total: number | undefined) => void {
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (now - last < 100 && done !== total) return;
    last = now;
    post({ type: 'progress', phase, done, total });
  };
}

async function load(choice: ModelChoice, threads: number): Promise<void> {
  const old = model;
  model = undefined;
  await old?.close();
  const source = choice.kind === 'url' ? choice.url : new File([choice.file], choice.name);
  const m = await Model.load(source, {
    threads,
    onDownloadProgress: throttled('download'),
    onProgress: throttled('load'),
  });
  model = m;
  const c = m.config;
  post({
    type: 'loaded',
    info: {
      name: choice.kind === 'url' ? (choice.url.split('/').pop() ?? choice.url) : choice.name,
      arch: c.arch,
      nLayers: c.nLayers,
      nKvHeads: c.nKvHeads,
      headDim: c.headDim,
      contextLength: c.contextLength,
      backend: m.backend.name,
      threads,
      weightBytes: m.transformer.weights.bytes,
      presses: describePresses(),
    },
  });
}

async function run(r: Extract<ToEngine, { type: 'run' }>): Promise<void> {
  const m = model;
  if (!m) throw new Error('no model is loaded');
  const prompt = documentPrompt(m.tokenizer, r.document, r.question);
  if (prompt.ids.length === 0) throw new Error('the document and the question are empty');
  if (prompt.ids.length >= m.config.contextLength)
    throw new Error(
      `the prompt is ${prompt.ids.length} tokens, and this model's context holds ${m.config.contextLength}`,
    );
  const ctx = m.createContext({ press: r.press ?? undefined, cacheType: r.cacheType });
  const abort = new AbortController();
  running = abort;
  const ids: number[] = [];
  try {
    const t0 = performance.now();
    let first = 0;
    let last = 0;
    const stream = askDocument(ctx, prompt, {
      maxTokens: Math.min(r.maxTokens, m.config.contextLength - prompt.ids.length),
      temperature: 0,
      signal: abort.signal,
      onPrefill: (done, total) => post({ type: 'prefill', done, total }),
    });
    for await (const t of stream) {
      last = performance.now();
      if (t.id >= 0) {
        if (ids.length === 0) first = last;
        ids.push(t.id);
      }
      if (t.text !== '' || t.id >= 0) post({ type: 'token', id: t.id, text: t.text });
    }
    const end = ids.length > 0 ? last : performance.now();
    const prefillMs = (ids.length > 0 ? first : end) - t0;
    const decodeMs = ids.length > 1 ? end - first : 0;
    const stats: RunStats = {
      promptTokens: prompt.ids.length,
      documentTokens: prompt.context.length,
      generatedTokens: ids.length,
      prefillMs,
      decodeMs,
      prefillTokensPerSecond: (prompt.ids.length / prefillMs) * 1000,
      decodeTokensPerSecond: decodeMs > 0 ? ((ids.length - 1) / decodeMs) * 1000 : 0,
      keptFraction: ctx.keptFraction,
      kvBytes: ctx.cache.bytes,
      peakKvBytes: ctx.peakCacheBytes,
      finishReason: ctx.finishReason ?? 'stop',
    };
    const promptTokens = prompt.ids.length;
    const segments = async (_: number, seen: number): Promise<Segment[]> => [
      { index: 0, role: 'document', start: 0, end: prompt.context.length, generated: false },
      { index: 1, role: 'question', start: prompt.context.length, end: promptTokens, generated: false },
      { index: 2, role: 'answer', start: promptTokens, end: seen, generated: true },
    ];
    const snapshot = snapshotCache(ctx, `run-${++runs}`, promptTokens, segments);
    const view = (await describeSnapshot(snapshot)) as CacheView;
    post({ type: 'done', stats, view, ids });
  } finally {
    running = undefined;
    ctx.dispose();
  }
}

// One request at a time, in order; 'stop' is handled at once (the run notices between tokens).
let queue = Promise.resolve();
scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'stop') {
    running?.abort();
    return;
  }
  queue = queue.then(async () => {
    const during = m.type === 'load' ? 'load' : m.type === 'passkey' ? 'passkey' : 'run';
    try {
      if (m.type === 'load') await load(m.model, m.threads);
      else if (m.type === 'run') await run(m);
      else if (m.type === 'passkey') {
        if (!model) throw new Error('no model is loaded');
        const tokens = Math.min(m.tokens, model.config.contextLength - 64);
        const s = passkeySample(model.tokenizer, { tokens, depth: 0.5, digits: m.digits, seed: m.seed });
        post({ type: 'passkey', document: s.contextPart, question: s.questionPart.trim(), answer: s.answer });
      }
    } catch (err) {
      post({ type: 'error', during, message: message(err) });
    }
  });
};
