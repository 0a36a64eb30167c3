// kvsieve's host in a browser: Web Workers for the kernel pool (over the shared WebAssembly.Memory, which needs
// a cross-origin isolated page: COOP same-origin + COEP require-corp), the kernels' bytes fetched from beside
// the bundle, models from a URL (streamed, with progress) or a Blob (a picked or dropped File). The engine runs
// in a worker, where Atomics.wait and FileReaderSync are allowed; on a page's main thread the pool spins and a
// Blob is read into memory first. Typechecked with the DOM library (tsconfig.web.json).
import { type ByteSource, bufferSource } from '../gguf/source.js';
import type { WorkerInit } from '../kernels/worker.js';
import type { Host, KernelThread, OpenOptions } from './host.js';

/** The kernel worker's bundle, built next to this one (src/bundle/web.ts). */
const KERNEL_WORKER = 'kernel-worker.js';
/** Largest single read from a Blob: tensors are copied into the heap in slices of this size. */
const BLOB_SLICE = 64 << 20;
/** A download up to this size stays in memory; a larger one goes into a Blob. */
const DOWNLOAD_IN_MEMORY = 1 << 30;
/** Downloaded bytes gathered into one Blob at a time, so a large model does not sit in JS memory whole. */
const DOWNLOAD_PART = 16 << 20;

/** What a dedicated worker's global scope offers beyond lib.dom (FileReaderSync; postMessage without origin). */
interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
}
interface FileReaderSyncLike {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}
type FileReaderSyncClass = new () => FileReaderSyncLike;

const scope = globalThis as unknown as { FileReaderSync?: FileReaderSyncClass; document?: unknown };

/** In a worker (no document): Atomics.wait and FileReaderSync are available. */
const inWorker = () => scope.document === undefined;

function checkIsolated(): void {
  if (!globalThis.crossOriginIsolated) {
    throw new Error(
      'this page is not cross-origin isolated, so it cannot share memory with worker threads: serve it with ' +
        'the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" ' +
        '(kvsieve web does)',
    );
  }
}

function spawnKernelWorker(init: WorkerInit): KernelThread {
  checkIsolated();
  const w = new Worker(new URL(KERNEL_WORKER, import.meta.url), {
    type: 'module',
    name: `kvsieve kernels ${init.tid}`,
  });
  const started = new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`kernel worker ${init.tid} failed to start: ${e.message || 'load error'}`));
    };
  });
  w.postMessage(init);
  return {
    started,
    terminate: async () => w.terminate(),
  };
}

/** A Blob read slice by slice with FileReaderSync (workers only): the file stays out of JS memory. */
function blobSource(blob: Blob, FileReaderSync: FileReaderSyncClass): ByteSource {
  const reader = new FileReaderSync();
  return {
    size: blob.size,
    read(into, offset, length, position) {
      const end = Math.min(position + Math.min(length, BLOB_SLICE), blob.size);
      if (end <= position) return 0;
      const bytes = new Uint8Array(reader.readAsArrayBuffer(blob.slice(position, end)));
      into.set(bytes, offset);
      return bytes.length;
    },
    close() {},
  };
}

async function sourceOfBlob(blob: Blob): Promise<ByteSource> {
  const FileReaderSync = scope.FileReaderSync;
  if (FileReaderSync && inWorker()) return blobSource(blob, FileReaderSync);
  return bufferSource(await blob.arrayBuffer());
}

/** Bytes held as the chunks a download arrived in (no copy into one buffer). */
function chunkSource(chunks: readonly Uint8Array[]): ByteSource {
  const starts: number[] = [];
  let size = 0;
  for (const c of chunks) {
    starts.push(size);
    size += c.length;
  }
  return {
    size,
    read(into, offset, length, position) {
      // The chunk holding `position`: the last one starting at or before it.
      let lo = 0;
      let hi = chunks.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= position) lo = mid;
        else hi = mid - 1;
      }
      let got = 0;
      for (let i = lo; i < chunks.length && got < length; i++) {
        const from = Math.max(0, position + got - starts[i]);
        const n = Math.min(chunks[i].length - from, length - got);
        if (n <= 0) continue;
        into.set(chunks[i].subarray(from, from + n), offset + got);
        got += n;
      }
      return got;
    },
    close() {},
  };
}

/**
 * Streams `url` in, reporting progress. Up to DOWNLOAD_IN_MEMORY the chunks stay in memory (the fastest to load
 * from); past it they go into a Blob part by part, which the browser may keep on disk, so a model of several
 * GiB is never in JS memory twice over (as download and as weights).
 */
async function download(url: string, opts: OpenOptions): Promise<ByteSource> {
  let res: Response;
  try {
    res = await fetch(url, { signal: opts.signal });
  } catch (e) {
    // fetch says only "Failed to fetch": name the URL and the likely causes.
    if (opts.signal?.aborted) throw e;
    throw new Error(
      `${url}: cannot download (${(e as Error).message}): offline, or another site without CORS headers?`,
    );
  }
  if (!res.ok) throw new Error(`${url}: ${res.status} ${res.statusText}`.trim());
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) && !res.headers.get('content-encoding') ? length : undefined;
  opts.onDownloadProgress?.(0, total);
  if (!res.body) return sourceOfBlob(await res.blob());
  const parts: Blob[] = [];
  let pending: Uint8Array<ArrayBuffer>[] = [];
  let pendingBytes = 0;
  let loaded = 0;
  let inMemory = (total ?? 0) <= DOWNLOAD_IN_MEMORY;
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending.push(value);
    pendingBytes += value.length;
    loaded += value.length;
    if (inMemory && loaded > DOWNLOAD_IN_MEMORY) inMemory = false;
    if (!inMemory && pendingBytes >= DOWNLOAD_PART) {
      parts.push(new Blob(pending));
      pending = [];
      pendingBytes = 0;
    }
    opts.onDownloadProgress?.(loaded, total);
  }
  if (inMemory) return chunkSource(pending);
  parts.push(new Blob(pending));
  return sourceOfBlob(new Blob(parts));
}

function nameOf(blob: Blob): string {
  return blob instanceof File ? blob.name : 'blob';
}

// A message to ourselves is a task of its own: unlike setTimeout(0), it is not clamped to 4 ms when nested.
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();

export const host: Host = {
  cpus: () => Math.max(1, navigator.hardwareConcurrency || 1),
  memory: () => undefined,
  async kernelBytes(build) {
    // The first thing the WebAssembly backend asks for, before it needs shared memory for its threads.
    checkIsolated();
    const file = build === 'plain' ? 'kernels.wasm' : `kernels-${build}.wasm`;
    const url = new URL(file, import.meta.url);
    const res = await fetch(url);
    if (!res.ok)
      throw new Error(`${url}: ${res.status} ${res.statusText} (the kernels belong beside the bundle)`);
    return new Uint8Array(await res.arrayBuffer());
  },
  enableRelaxedSimd() {},
  spawnKernelWorker,
  kernelWorkerMain(serve) {
    const self = globalThis as unknown as WorkerScope;
    self.onmessage = (e) => {
      self.onmessage = null;
      serve(e.data as WorkerInit, () => self.postMessage('ready'));
    };
  },
  canBlock: inWorker,
  nextTask: () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(0);
    }),
  openFile(path) {
    throw new Error(`${path}: a browser opens no file paths; load a URL, a File, a Blob or an ArrayBuffer`);
  },
  async openSource(source, opts) {
    if (typeof source === 'string') {
      const url = new URL(source, globalThis.location?.href).href;
      return { source: await download(url, opts), name: source };
    }
    return { source: await sourceOfBlob(source), name: nameOf(source) };
  },
};
