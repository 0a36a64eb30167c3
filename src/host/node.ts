// kvsieve's host under Node: worker_threads for the kernel pool, the kernels' bytes from build/, model files
// through file descriptors.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { type ByteSource, bufferSource } from '../gguf/source.js';
import { GgufError } from '../gguf/types.js';
import type { WorkerInit } from '../kernels/worker.js';
import type { Host, KernelBuild, KernelThread } from './host.js';

function wasmPath(build: KernelBuild): string {
  const file = build === 'plain' ? 'kernels.wasm' : `kernels-${build}.wasm`;
  const path = fileURLToPath(new URL(`../../build/${file}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build:wasm\` first`);
  return path;
}

function spawn(init: WorkerInit): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Workers do not inherit tsx's loader when running from sources; register it inside the worker.
    const url = new URL('../kernels/worker.ts', here).href;
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(code, { eval: true, workerData: init });
  }
  return new Worker(new URL('../kernels/worker.js', here), { workerData: init });
}

function spawnKernelWorker(init: WorkerInit): KernelThread {
  const w = spawn(init);
  const started = new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`kernel worker exited early (code ${code})`)));
  }).then(() => {
    w.removeAllListeners('exit');
    // A pool left open does not keep the process alive.
    w.unref();
  });
  return {
    started,
    terminate: async () => {
      await w.terminate();
    },
  };
}

/** A file descriptor as a byte source. */
function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new GgufError('is a directory, not a GGUF file', path);
    size = stat.size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let closed = false;
  return {
    size,
    read: (into, offset, length, position) => readSync(fd, into, offset, length, position),
    close() {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

export const host: Host = {
  cpus: () => availableParallelism(),
  memory: () => ({ available: freemem(), total: totalmem() }),
  kernelBytes: async (build) => readFileSync(wasmPath(build)),
  enableRelaxedSimd: () => setFlagsFromString('--experimental-wasm-relaxed-simd'),
  spawnKernelWorker,
  kernelWorkerMain(serve) {
    serve(workerData as WorkerInit, () => parentPort!.postMessage('ready'));
  },
  canBlock: () => true,
  nextTask: () => new Promise((resolve) => setImmediate(resolve)),
  openFile: fileSource,
  async openSource(source) {
    if (typeof source === 'string') return { source: fileSource(source), name: source };
    return {
      source: bufferSource(await source.arrayBuffer()),
      name: 'name' in source ? String(source.name) : 'blob',
    };
  },
};
