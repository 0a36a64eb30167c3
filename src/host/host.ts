// What kvsieve needs from the platform it runs on, in one small interface, so that one source tree runs under
// Node and in a browser: threads to run kernels on, the kernels' bytes, kernel worker threads, bytes of model
// files, and a way to let the event loop run. src/host/node.ts implements it with Node's modules; src/host/
// browser.ts with Web Workers, fetch and Blobs. src/host/index.ts picks Node's; the web build (src/bundle/web.ts)
// swaps in the browser's, so no Node module ever reaches the browser bundle.
import type { ByteSource } from '../gguf/source.js';
import type { WorkerInit } from '../kernels/worker.js';

/** The three builds of the kernels (assembly/): baseline SIMD, relaxed SIMD, relaxed SIMD with the fused dot-add. */
export type KernelBuild = 'plain' | 'relaxed' | 'relaxed-dot';

/** A kernel worker thread as its pool sees it. */
export interface KernelThread {
  /** Settles once the worker has instantiated its kernels (rejects if it fails to start). */
  readonly started: Promise<void>;
  terminate(): Promise<void>;
}

/** Where a model comes from: a path (Node) or URL (browser), a File or Blob, or the file's bytes. */
export type ModelSource = string | Blob | ArrayBuffer | ArrayBufferView;

export interface OpenOptions {
  /** Download progress of a URL: bytes so far and the total (undefined when the server does not say). */
  onDownloadProgress?: (loadedBytes: number, totalBytes: number | undefined) => void;
  signal?: AbortSignal;
}

export interface Host {
  /** Threads worth running kernels on by default. */
  cpus(): number;
  /** Memory the OS can hand out without swapping, and its total; undefined where the platform does not say. */
  memory(): { available: number; total: number } | undefined;
  /** The kernels' WebAssembly bytes. */
  kernelBytes(build: KernelBuild): Promise<Uint8Array<ArrayBuffer>>;
  /** Lets this runtime validate relaxed SIMD where a flag gates it (Node 20's V8); a no-op elsewhere. */
  enableRelaxedSimd(): void;
  /** Starts a kernel worker that runs `init`'s kernels (src/kernels/worker.ts). */
  spawnKernelWorker(init: WorkerInit): KernelThread;
  /** Inside a kernel worker: hands its init to `serve`, which calls `ready` once its kernels are instantiated. */
  kernelWorkerMain(serve: (init: WorkerInit, ready: () => void) => void): void;
  /** Whether this thread may block in Atomics.wait (a browser's main thread may not: it spins instead). */
  canBlock(): boolean;
  /** Resolves after pending events (messages, I/O) have had their turn, without a timer's delay. */
  nextTask(): Promise<void>;
  /** A file by path (synchronous). */
  openFile(path: string): ByteSource;
  /** A path or URL, or a Blob (a File is one), as bytes to parse; `name` is what messages call it. */
  openSource(source: string | Blob, opts: OpenOptions): Promise<{ source: ByteSource; name: string }>;
}
