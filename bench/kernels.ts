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

interface Timing {
  /** Wall-clock seconds per call. */
  wall: number;
  /** Process CPU seconds per call: robust to a busy machine, but meaningful only for one thread. */
  cpu: number;
}

/** Per-call time: one warm-up, then repeats until `budget` seconds have passed (at least `min` calls). */
function time(fn: () => void, budget: number, min = 3): Timing {
  fn();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  while (n < min || performance.now() - t0 < budget * 1000) {
    fn();
    n++;
  }
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000 / n, cpu: (c.user + c.system) / 1e6 / n };
}

function randomWeights(heap: Heap, type: GgmlType, rows: number, cols: number): WeightMatrix {
  const f = new Float32Array(rows * cols);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i * 0.61803) * 0.1;
  const bytes = quantize(type, f);
  const ptr = heap.alloc(bytes.length);
  heap.u8(ptr, bytes.length).set(bytes);
  return { type, rows, cols, ptr, rowBytes: bytes.length / rows };
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)).padStart(6);

const heap = new Heap(256 << 20);
const ref = new RefBackend(heap);
const backends: Backend[] = [];
for (const threads of values.threads.split(',').map(Number)) {
  backends.push(await createWasmBackend(heap, { threads }));
}
const single = (b: Backend) => b === ref || b.name.endsWith('×1');
console.log(`backends: ref (plain TypeScript, 1 thread), ${backends.map((b) => b.name).join(', ')}`);
console.log(
  'wall-clock throughput; [per CPU-second] for single-threaded runs; (×ref) against ref in this run\n',
);
const maxTokens = 256;
const x = heap.alloc(maxTokens * 4864 * 4);
heap.f32(x, maxTokens * 4864).forEach((_, i, a) => {
  a[i] = Math.cos(i * 0.377);
});
const out = heap.alloc(maxTokens * 896 * 4);

/** One line: a metric for ref (unless skipped: a dash) and every backend. */
function line(label: string, work: number, run: (b: Backend) => Timing, withRef: boolean): void {
  const cells = [label.padEnd(32)];
  let refRate = Number.NaN;
  for (const b of [ref, ...backends]) {
    if (b === ref && (!withRef || values['no-ref'])) {
      cells.push('ref      –'.padEnd(22));
      continue;
    }
    const t = run(b);
    const rate = work / t.wall / 1e9;
    if (b === ref) refRate = rate;
    let cell = `${b.name} ${fmt(rate)}`;
    if (single(b)) cell += ` [${fmt(work / t.cpu / 1e9)}]`;
    if (b !== ref && !Number.isNaN(refRate)) cell += ` (${(rate / refRate).toFixed(0)}×)`;
    cells.push(cell.padEnd(b === ref ? 22 : 34));
  }
  console.log(cells.join(' | '));
}

for (const type of types) {
  for (const [rows, cols] of SHAPES) {
    const w = randomWeights(heap, type, rows, cols);
    const name = `${GgmlType[type].padEnd(5)} ${`${rows}×${cols}`.padEnd(9)}`;
    line(`${name} GEMV GB/s`, rows * w.rowBytes, (b) => time(() => b.matmul(out, w, x, 1), 0.2), true);
    for (const n of [64, 256]) {
      // The reference takes about a second per 64-token call at the larger shape: one call, 64 tokens only.
      const label = `${' '.repeat(name.length)} GEMM@${n} GFLOP/s`;
      const run = (b: Backend) =>
        b === ref ? time(() => b.matmul(out, w, x, n), 0, 1) : time(() => b.matmul(out, w, x, n), 0.3, 2);
      line(label, 2 * rows * cols * n, run, n === 64);
    }
    heap.release(w.ptr);
  }
}
// Attention: SmolLM2-135M's layout (9 query heads on 3 KV heads of 64), 4096 cached keys.
const [nHeads, nKv, headDim, len] = [9, 3, 64, 4096];
const filled = (n: number, f: (i: number) => number) => {
  const p = heap.alloc(n * 4);
  heap.f32(p, n).forEach((_, i, a) => {
    a[i] = f(i);
  });
  return p;
};
const positions = heap.alloc(len * 4);
heap.i32(positions, len).forEach((_, i, a) => {
  a[i] = i;
});
const kv = Array.from({ length: nKv }, (_, h) => ({
  keys: filled(len * headDim, (i) => Math.sin(i * 0.7 + h)),
  values: filled(len * headDim, (i) => Math.cos(i * 0.3 + h)),
  positions,
  length: len,
}));
console.log(
  `\nattention, ${nHeads}/${nKv} heads × ${headDim}, ${len} cached keys (4·heads·dim·keys flops per query)`,
);
for (const nTokens of [1, 16]) {
  const queryPositions = heap.alloc(nTokens * 4);
  heap.i32(queryPositions, nTokens).forEach((_, i, a) => {
    a[i] = len - nTokens + i;
  });
  const args = {
    out: heap.alloc(nTokens * nHeads * headDim * 4),
    queries: filled(nTokens * nHeads * headDim, (i) => Math.sin(i * 0.11)),
    nTokens,
    nHeads,
    headDim,
    queryPositions,
    kv,
    keyType: GgmlType.F32,
    valueType: GgmlType.F32,
    scale: 1 / 8,
  };
  const label = `${nTokens} token(s) GFLOP/s`;
  line(
    label,
    4 * nHeads * headDim * len * nTokens,
    (b) => time(() => b.attention(args), b === ref ? 0 : 0.3, 1),
    true,
  );
}
for (const b of backends) await b.close();
