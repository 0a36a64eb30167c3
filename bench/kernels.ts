// Kernel throughput, WASM against the reference in the same run:
//   GEMV (1 token): GB/s of weight bytes streamed; GEMM (64 and 256 tokens): GFLOP/s (2·rows·cols·tokens).
// Shapes are rows × cols of down-projection-like matrices (SmolLM2-135M, Qwen2.5-0.5B), whose cols are
// multiples of 256 so every type applies.
//   node --import tsx bench/kernels.ts [--types Q4_K,Q8_0] [--threads 1,2] [--no-ref]
import { parseArgs } from 'node:util';
import { quantize } from '../src/gguf/quants.js';
import { GgmlType } from '../src/gguf/types.js';
import type { Backend, WeightMatrix } from '../src/kernels/backend.js';
import { Heap } from '../src/kernels/heap.js';
import { RefBackend } from '../src/kernels/ref.js';
import { createWasmBackend } from '../src/kernels/wasm.js';

const SHAPES: [number, number][] = [
  [576, 1536],
  [896, 4864],
];
const ALL = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];

const { values } = parseArgs({
  options: {
    types: { type: 'string', default: ALL.join(',') },
    threads: { type: 'string', default: '1,2' },
    'no-ref': { type: 'boolean', default: false },
  },
});
const types = values.types.split(',').map((n) => {
  const t = GgmlType[n as keyof typeof GgmlType];
  if (t === undefined) throw new Error(`unknown type ${n}`);
  return t;
});

/** Seconds per call: one warm-up, then repeats until `budget` seconds have passed (at least `min` calls). */
function time(fn: () => void, budget: number, min = 3): number {
  fn();
  const t0 = performance.now();
  let n = 0;
  while (n < min || performance.now() - t0 < budget * 1000) {
    fn();
    n++;
  }
  return (performance.now() - t0) / 1000 / n;
}

function randomWeights(heap: Heap, type: GgmlType, rows: number, cols: number): WeightMatrix {
  const f = new Float32Array(rows * cols);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i * 0.61803) * 0.1;
  const bytes = quantize(type, f);
  const ptr = heap.alloc(bytes.length);
  heap.u8(ptr, bytes.length).set(bytes);
  return { type, rows, cols, ptr, rowBytes: bytes.length / rows };
}

const fmt = (v: number, d = 1) => v.toFixed(d).padStart(7);

const heap = new Heap(256 << 20);
const ref = new RefBackend(heap);
const backends: Backend[] = [];
for (const threads of values.threads.split(',').map(Number)) {
  backends.push(await createWasmBackend(heap, { threads }));
}
console.log(`backends: ${backends.map((b) => b.name).join(', ')}; ref = plain TypeScript, 1 thread`);
console.log(
  'type  shape      | GEMV GB/s: ref   ' +
    backends.map((b) => `${b.name.padStart(15)} (×ref)`).join(' ') +
    ' | GEMM GFLOP/s @64: ref  ' +
    backends.map((b) => `${b.name.padStart(15)} (×ref)`).join(' ') +
    ' | @256: ' +
    backends.map((b) => b.name.padStart(15)).join(' '),
);
const maxTokens = 256;
const x = heap.alloc(maxTokens * 4864 * 4);
heap.f32(x, maxTokens * 4864).forEach((_, i, a) => {
  a[i] = Math.cos(i * 0.377);
});
const out = heap.alloc(maxTokens * 896 * 4);
for (const type of types) {
  for (const [rows, cols] of SHAPES) {
    const w = randomWeights(heap, type, rows, cols);
    const bytes = rows * w.rowBytes;
    const gemv = (b: Backend) => bytes / time(() => b.matmul(out, w, x, 1), 0.25) / 1e9;
    const gemm = (b: Backend, n: number, budget = 0.4) =>
      (2 * rows * cols * n) / time(() => b.matmul(out, w, x, n), budget, 2) / 1e9;
    const refV = values['no-ref'] ? Number.NaN : gemv(ref);
    const refM = values['no-ref'] ? Number.NaN : gemm(ref, 64, 0);
    const cells = [
      `${GgmlType[type].padEnd(5)} ${`${rows}×${cols}`.padEnd(10)} |           ${fmt(refV, 2)}`,
      ...backends.map((b) => {
        const v = gemv(b);
        return `${fmt(v, 2)} (${fmt(v / refV, 0)}×)`.padStart(22);
      }),
      `|              ${fmt(refM, 2)}`,
      ...backends.map((b) => {
        const v = gemm(b, 64);
        return `${fmt(v)} (${fmt(v / refM, 0)}×)`.padStart(22);
      }),
      '|      ',
      ...backends.map((b) => fmt(gemm(b, 256)).padStart(15)),
    ];
    console.log(cells.join(' '));
    heap.release(w.ptr);
  }
}
for (const b of backends) await b.close();
