// Admission control for one model. Generation steps of concurrent requests interleave on the main thread, so
// running more at once only splits the model's speed between them; the limit keeps each request's latency
// predictable and the bounded FIFO queue turns overload into a prompt 429 instead of an ever-growing backlog.
import { ApiError } from './errors.js';

interface Waiter {
  grant: (release: () => void) => void;
  refuse: (e: Error) => void;
}

export class Limiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0)
      throw new RangeError(`the queue size must be a whole number >= 0, got ${maxQueue}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free (first come, first served). Rejects with a 429 when
   * the queue is full, and with the signal's reason when it aborts while waiting (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(
        new ApiError(
          429,
          `server busy: ${this.running} generation(s) running and ${this.waiting.length} queued; retry later`,
          'rate_limit_error',
          null,
          'queue_full',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        refuse: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Refuses everyone still waiting (used at shutdown); running requests keep their slots. */
  refuseWaiting(e: Error): void {
    for (const w of this.waiting.splice(0)) w.refuse(e);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` is unchanged and nobody can jump the queue.
      if (next) next.grant(this.releaser());
      else this.running--;
    };
  }
}
