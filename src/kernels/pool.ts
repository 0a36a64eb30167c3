// Main-thread side of the kernel thread pool. `run` publishes the op already written into the control
// block, works on chunks itself, and blocks until every chunk is done: kernels stay synchronous for the
// caller. Waiting is a short spin (cheap when the other cores are free) followed by Atomics.wait (so a
// busy machine is not made busier).
import { host, type KernelThread } from '../host/index.js';
import {
  type Control,
  claim,
  controlOf,
  DONE,
  FAILED,
  INDEX_MASK,
  MAIN_WAITING,
  MEM,
  NCHUNKS,
  NEXT,
  SEQ,
  SLEEPERS,
  STOP,
  TAG_MASK,
  TAG_SHIFT,
} from './control.js';
import { type KernelExports, runChunk } from './ops.js';

/** Spin iterations before a thread parks; roughly 50–100 µs of polling. */
const SPIN = 20000;

export class Pool {
  readonly ctl: Control = controlOf();
  /** False on a browser's main thread, where Atomics.wait throws: there the pool only spins. */
  private canBlock = true;
  private readonly workers: KernelThread[] = [];

  private constructor(private readonly k: readonly KernelExports[]) {}

  /**
   * A pool of `threads` threads in all, the calling thread included; `k[i]` is this thread's kernel instance
   * on `memories[i]` (each worker instantiates its own on every memory).
   */
  static async create(
    k: readonly KernelExports[],
    module: WebAssembly.Module,
    memories: WebAssembly.Memory[],
    threads: number,
  ): Promise<Pool> {
    const pool = new Pool(k);
    const started: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const w = host.spawnKernelWorker({ module, memories, control: pool.ctl.sab, tid, spin: SPIN });
      pool.workers.push(w);
      started.push(w.started);
    }
    try {
      await Promise.all(started);
    } catch (e) {
      await pool.close();
      throw e;
    }
    pool.canBlock = host.canBlock();
    return pool;
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Runs `nChunks` chunks of the op in the control block on memory `mem`; returns when all are done. */
  run(nChunks: number, mem = 0): void {
    if (nChunks > INDEX_MASK) throw new RangeError(`too many chunks (${nChunks})`);
    const c = this.ctl.i32;
    c[MEM] = mem;
    if (this.workers.length === 0 || nChunks === 1) {
      for (let i = 0; i < nChunks; i++) runChunk(this.k, this.ctl, 0, i);
      return;
    }
    const seq = (c[SEQ] + 1) | 0;
    const tag = seq & TAG_MASK;
    c[NCHUNKS] = nChunks;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, NEXT, tag << TAG_SHIFT);
    Atomics.store(c, SEQ, seq);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, SEQ);
    // On an error, keep claiming (without running) so the op drains before the control block is reused.
    let failure: unknown;
    for (let i = claim(c, tag); i >= 0; i = claim(c, tag)) {
      if (failure === undefined) {
        try {
          runChunk(this.k, this.ctl, 0, i);
        } catch (e) {
          failure = e;
        }
      }
      Atomics.add(c, DONE, 1);
    }
    let spins = 0;
    for (let done = Atomics.load(c, DONE); done < nChunks; done = Atomics.load(c, DONE)) {
      if (++spins < SPIN || !this.canBlock) continue;
      Atomics.store(c, MAIN_WAITING, 1);
      Atomics.wait(c, DONE, done, 1);
      Atomics.store(c, MAIN_WAITING, 0);
    }
    const workerFailed = Atomics.exchange(c, FAILED, 0) !== 0;
    if (failure !== undefined) throw failure;
    if (workerFailed) throw new Error('a kernel worker failed (its error is on stderr)');
  }

  async close(): Promise<void> {
    const c = this.ctl.i32;
    Atomics.store(c, STOP, 1);
    Atomics.add(c, SEQ, 1);
    Atomics.notify(c, SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
