import { quantize } from '../src/gguf/quants.js';
import { GgmlType } from '../src/gguf/types.js';
import { Heap } from '../src/kernels/heap.js';
import { createWasmBackend } from '../src/kernels/wasm.js';

const heap = new Heap(512 << 20);
const b = await createWasmBackend(heap, { threads: Number(process.argv[2] ?? 2) });
const d = 64, nKv = 3, nHeads = 9, len = Number(process.argv[3] ?? 4096);
const put = (u: Uint8Array) => { const p = heap.alloc(u.length); heap.u8(p, u.length).set(u); return p; };
const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) );
const pos = put(new Uint8Array(Int32Array.from({ length: len }, (_, i) => i).buffer));
for (const nTok of [256, 1]) {
  const q = put(new Uint8Array(rnd(nTok * nHeads * d).buffer));
  const qp = put(new Uint8Array(Int32Array.from({ length: nTok }, (_, i) => len - nTok + i).buffer));
  const out = heap.alloc(nTok * nHeads * d * 4);
  for (const t of [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const kv = Array.from({ length: nKv }, () => ({ keys: put(quantize(t, rnd(len * d))), values: put(quantize(t, rnd(len * d))), positions: pos, length: len }));
    const args = { out, queries: q, nTokens: nTok, nHeads, headDim: d, queryPositions: qp, kv, keyType: t, valueType: t, scale: 0.125 };
    for (let i = 0; i < 3; i++) b.attention(args);
    const reps = nTok === 1 ? 200 : 5;
    let ms = Infinity;
    for (let rep = 0; rep < 5; rep++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) b.attention(args);
      const c = process.cpuUsage(c0);
      ms = Math.min(ms, (c.user + c.system) / 1000 / reps);
    }
    const flops = 4 * nHeads * d * nTok * (len - nTok / 2);
    console.log(`nTok ${nTok} type ${t}: ${ms.toFixed(3)} ms, ${(flops / ms / 1e6).toFixed(1)} GFLOP/s`);
  }
}
await b.close();
