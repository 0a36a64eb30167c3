// A kernel pool worker: instantiates the kernel module on the shared heap, then loops: wait for the main
// thread to publish an op (a short spin, then Atomics.wait), claim and run chunks until none are left.
import { host } from '../host/index.js';
import {
  claim,
  controlOf,
  DONE,
  FAILED,
  MAIN_WAITING,
  NCHUNKS,
  SEQ,
  SLEEPERS,
  STOP,
  TAG_MASK,
} from './control.js';
import { instantiateKernels, runChunk } from './ops.js';

export interface WorkerInit {
  module: WebAssembly.Module;
  /** One kernel instance per memory (several 32-bit memories hold models past 4 GiB). */
  memories: WebAssembly.Memory[];
  control: SharedArrayBuffer;
  tid: number;
  spin: number;
}

function serve(init: WorkerInit, ready: () => void): void {
  const k = init.memories.map((m) => instantiateKernels(init.module, m));
  const ctl = controlOf(init.control);
  const c = ctl.i32;
  let seen = Atomics.load(c, SEQ);
  ready();
  for (;;) {
    let spins = 0;
    while (Atomics.load(c, SEQ) === seen) {
      if (++spins < init.spin) continue;
      Atomics.add(c, SLEEPERS, 1);
      Atomics.wait(c, SEQ, seen);
      Atomics.sub(c, SLEEPERS, 1);
    }
    seen = Atomics.load(c, SEQ);
    if (Atomics.load(c, STOP) !== 0) return;
    const tag = seen & TAG_MASK;
    for (let i = claim(c, tag); i >= 0; i = claim(c, tag)) {
      // A failed chunk still counts as done, so that the main thread wakes up and reports it.
      try {
        runChunk(k, ctl, init.tid, i);
      } catch (e) {
        console.error(`kernel worker ${init.tid}:`, e);
        Atomics.store(c, FAILED, 1);
      }
      if (Atomics.add(c, DONE, 1) + 1 === c[NCHUNKS] && Atomics.load(c, MAIN_WAITING) !== 0) {
        Atomics.notify(c, DONE);
      }
    }
  }
}

host.kernelWorkerMain(serve);
