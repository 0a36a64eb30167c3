// Decode's matmuls as a model runs them: every layer's seven weight matrices (q, k, v, o, gate, up, down)
// once each, one token, streamed from memory (the layers together are far larger than the caches), against
// the same bytes as one tall matrix in the same run: the memory-speed peer, with no per-call cost and one
// long stream. Wall time, best of 30.
//
//   node --import tsx bench/gemv-layers.ts [--shape smollm2-135m|qwen2.5-0.5b] [--type Q8_0] [--threads 1,2]
import { parseArgs } from 'node:util';
import { quantize } from '../src/gguf/quants.js';
import { GgmlType } from '../src/gguf/types.js';
import type { WeightMatrix } from '../src/kernels/backend.js';
import { Heap } from '../src/kernels/heap.js';
import { createWasmBackend } from '../src/kernels/wasm.js';

/** Layers, hidden size, KV width, feed-forward size. */
const SHAPES: Record<string, [number, number, number, number]> = {
  'smollm2-135m': [30, 576, 192, 1536],
  'qwen2.5-0.5b': [24, 896, 128, 4864],
};
const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'smollm2-135m' },
    type: { type: 'string', default: 'Q8_0' },
    threads: { type: 'string', default: '1,2' },
  },
});
const shape = SHAPES[values.shape];
if (!shape) throw new Error(`unknown shape ${values.shape} (${Object.keys(SHAPES).join(', ')})`);
const type = GgmlType[values.type as keyof typeof GgmlType];
if (type === undefined) throw new Error(`unknown type ${values.type}`);
const [layers, hidden, kvWidth, ffn] = shape;
const perLayer: [number, number][] = [
  [hidden, hidden],
  [kvWidth, hidden],
  [kvWidth, hidden],
  [hidden, hidden],
  [ffn, hidden],
  [ffn, hidden],
  [hidden, ffn],
];
const wave = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));

for (const threads of values.threads.split(',').map(Number)) {
  const heap = new Heap(2000 << 20);
  const b = await createWasmBackend(heap, { threads });
  const matrix = (rows: number, cols: number) => {
    const q = quantize(type, wave(rows * cols));
    const ptr = heap.alloc(q.length);
    heap.u8(ptr, q.length).set(q);
    const x = heap.alloc(cols * 4);
    heap.f32(x, cols).set(wave(cols));
    const w: WeightMatrix = { type, ptr, rowBytes: q.length / rows, rows, cols };
    return { w, x, out: heap.alloc(rows * 4), bytes: q.length };
  };
  const mats = Array.from({ length: layers }, () => perLayer.map(([r, c]) => matrix(r, c))).flat();
  const bytes = mats.reduce((s, m) => s + m.bytes, 0);
  const tall = matrix(Math.round(bytes / mats[0].w.rowBytes), hidden);
  const time = (f: () => void) => {
    for (let i = 0; i < 5; i++) f();
    let best = Number.POSITIVE_INFINITY;
    for (let rep = 0; rep < 30; rep++) {
      const t0 = performance.now();
      f();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const layerMs = time(() => {
    for (const m of mats) b.matmul(m.out, m.w, m.x, 1);
  });
  const tallMs = time(() => b.matmul(tall.out, tall.w, tall.x, 1));
  const gbs = (ms: number, n: number) => (n / ms / 1e6).toFixed(1);
  console.log(
    `${values.shape} ${values.type}, ${b.name}: ${mats.length} matmuls, ${(bytes / 1e6).toFixed(1)} MB in ${layerMs.toFixed(2)} ms ` +
      `(${gbs(layerMs, bytes)} GB/s); one tall matrix ${tallMs.toFixed(2)} ms (${gbs(tallMs, tall.bytes)} GB/s); ` +
      `layers ÷ tall ${(tallMs / layerMs).toFixed(2)}×`,
  );
  await b.close();
}
