// The serving thread's side of the prompt workers (prompt-worker.ts). Two lanes, each one worker thread
// running one job at a time: prompts up to SMALL_WORK characters go to the small lane, longer ones (and
// cache views of long conversations) to the large one, so an ordinary request is never queued behind a
// megabyte someone else sent. Each lane's queue is bounded: past it, a 429 rather than an ever-growing backlog.
import { Worker } from 'node:worker_threads';
import { type ChatMessage, ChatTemplateError } from '../chat/template.js';
import type { Metadata } from '../gguf/reader.js';
import { ApiError } from './errors.js';
import { type PromptParts, PromptTooLong, type Segment } from './prompt.js';
import type { PromptJob, PromptReply, PromptWorkerInit } from './prompt-worker.js';

/** Characters of prompt (times messages, for segments) that a job may have to stay on the small lane. */
export const SMALL_WORK = 64 * 1024;
/** Jobs waiting per lane before new ones are refused. */
export const MAX_WAITING = 64;

type JobBody = PromptJob extends infer J ? (J extends PromptJob ? Omit<J, 'id'> : never) : never;

interface Pending {
  job: PromptJob;
  signal?: AbortSignal;
  resolve: (r: PromptReply) => void;
  reject: (e: unknown) => void;
}

function spawn(init: PromptWorkerInit): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Workers do not inherit tsx's loader when running from sources; register it inside the worker.
    const url = new URL('./prompt-worker.ts', here).href;
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(code, { eval: true, workerData: init });
  }
  return new Worker(new URL('./prompt-worker.js', here), { workerData: init });
}

class Lane {
  private worker: Worker | undefined;
  private ready = false;
  private current: Pending | undefined;
  private readonly waiting: Pending[] = [];
  private closed = false;

  constructor(private readonly init: PromptWorkerInit) {}

  private start(): void {
    const w = spawn(this.init);
    w.unref(); // an idle lane never keeps the process alive
    this.worker = w;
    this.ready = false;
    w.on('message', (m: PromptReply | 'ready') => {
      if (m === 'ready') this.ready = true;
      else {
        this.current?.resolve(m);
        this.current = undefined;
      }
      this.next();
    });
    const failed = (e: unknown) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.current?.reject(e);
      this.current = undefined;
      // A worker that died (out of memory, say) is replaced; the jobs waiting go to the new one.
      if (!this.closed && this.waiting.length > 0) this.start();
    };
    w.on('error', failed);
    w.on('exit', (code) => failed(new Error(`a prompt worker exited with code ${code}`)));
  }

  run(job: PromptJob, signal?: AbortSignal): Promise<PromptReply> {
    if (this.closed)
      return Promise.reject(new ApiError(503, 'the server is shutting down', 'unavailable_error'));
    if (this.waiting.length >= MAX_WAITING) {
      return Promise.reject(
        new ApiError(
          429,
          `server busy: ${this.waiting.length} prompts are waiting to be tokenized; retry later`,
          'rate_limit_error',
          null,
          'queue_full',
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Started on first use: most servers never see a prompt long enough for the large lane.
    if (!this.worker) this.start();
    return new Promise((resolve, reject) => {
      // A client that leaves while its prompt waits leaves the queue at once.
      const onAbort = () => {
        const i = this.waiting.indexOf(pending);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          signal?.removeEventListener('abort', onAbort);
          f(v);
        };
      const pending: Pending = { job, signal, resolve: settle(resolve), reject: settle(reject) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(pending);
      this.next();
    });
  }

  private next(): void {
    if (!this.ready || this.current || !this.worker) return;
    const p = this.waiting.shift();
    if (!p) return;
    this.current = p;
    this.worker.postMessage(p.job);
  }

  async close(): Promise<void> {
    this.closed = true;
    const gone = new ApiError(503, 'the server is shutting down', 'unavailable_error');
    for (const p of this.waiting.splice(0)) p.reject(gone);
    const w = this.worker;
    this.worker = undefined;
    this.current?.reject(gone);
    this.current = undefined;
    await w?.terminate();
  }
}

/** Tokenizing and segment mapping for the server, on worker threads. */
export class PromptWorkers {
  private readonly small: Lane;
  private readonly large: Lane;
  private nextId = 0;

  constructor(model: { metadata: Metadata; chatTemplate: string }) {
    const init: PromptWorkerInit = { metadata: model.metadata.entries(), chatTemplate: model.chatTemplate };
    this.small = new Lane(init);
    this.large = new Lane(init);
  }

  private async run(body: JobBody, work: number, signal?: AbortSignal): Promise<PromptReply> {
    const job = { ...body, id: this.nextId++ } as PromptJob;
    const reply = await (work <= SMALL_WORK ? this.small : this.large).run(job, signal);
    if ('tooLong' in reply) throw new PromptTooLong(reply.tooLong.tokens, reply.tooLong.exact);
    if ('error' in reply) {
      if (reply.error.template) throw new ChatTemplateError(reply.error.message);
      throw new Error(`prompt worker: ${reply.error.message}`);
    }
    return reply;
  }

  /**
   * The conversation's prompt tokens, cut where its last user message (the question) starts; PromptTooLong
   * past `limit`, ChatTemplateError if the template refuses.
   */
  async chat(messages: ChatMessage[], limit: number, signal?: AbortSignal): Promise<PromptParts> {
    const reply = await this.run({ kind: 'chat', messages, limit }, chars(messages), signal);
    const { ids, cut } = reply as { ids: Int32Array; cut: number };
    const all = Array.from(ids);
    return cut < all.length
      ? { ids: all, context: all.slice(0, cut), rest: all.slice(cut) }
      : { ids: all, context: all };
  }

  /** A completion's question (`kvsieve.question`): its tokens, without BOS. */
  async question(question: string, limit: number, signal?: AbortSignal): Promise<number[]> {
    const reply = await this.run({ kind: 'question', question, limit }, question.length, signal);
    return Array.from((reply as { ids: Int32Array }).ids);
  }

  async completion(prompt: string, limit: number, signal?: AbortSignal): Promise<number[]> {
    const reply = await this.run({ kind: 'completion', prompt, limit }, prompt.length, signal);
    return Array.from((reply as { ids: Int32Array }).ids);
  }

  /** Which positions came from which message (the conversation is re-rendered once per message). */
  async segments(messages: ChatMessage[], promptTokens: number, tokensSeen: number): Promise<Segment[]> {
    const work = chars(messages) * Math.min(messages.length, 64);
    const reply = await this.run({ kind: 'segments', messages, promptTokens, tokensSeen }, work);
    return (reply as { segments: Segment[] }).segments;
  }

  async close(): Promise<void> {
    await Promise.all([this.small.close(), this.large.close()]);
  }
}

function chars(messages: readonly ChatMessage[]): number {
  let n = 0;
  for (const m of messages) n += m.content.length + m.role.length;
  return n;
}
