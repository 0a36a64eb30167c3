// The attention kernel alone, by cache storage type: GFLOP/s of a prefill block (256 queries) and of a decode
// step (1 query) over a long cache, SmolLM2-135M's heads (9 query / 3 KV, head size 64). CPU time of the
// calling process, best of five, so that a busy machine disturbs it less than wall time.
//
//   node --import tsx bench/attention.ts [--threads 2] [--keys 4096]
import { parseArgs } from 'node:util';
import { quantize } from '../src/gguf/quants.js';
import { GgmlType, ggmlTypeName } from '../src/gguf/types.js';
import { Heap } from '../src/kernels/heap.js';
import { createWasmBackend } from '../src/kernels/wasm.js';

const { values } = parseArgs({
  options: { threads: { type: 'string', default: '2' }, keys: { type: 'string', default: '4096' } },
});
const heap = new Heap(512 << 20);
const b = await createWasmBackend(heap, { threads: Number(values.threads) });
const d = 64;
const nKv = 3;
const nHeads = 9;
const len = Number(values.keys);
const put = (u: Uint8Array) => {
  const p = heap.alloc(u.length);
  heap.u8(p, u.length).set(u);
  return p;
};
const wave = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
const pos = put(new Uint8Array(Int32Array.from({ length: len }, (_, i) => i).buffer));
console.log(`${b.name}, ${len} keys, ${nHeads}/${nKv} heads of ${d}`);
for (const nTok of [256, 1]) {
  const q = put(new Uint8Array(wave(nTok * nHeads * d).buffer));
  const qp = put(new Uint8Array(Int32Array.from({ length: nTok }, (_, i) => len - nTok + i).buffer));
  const out = heap.alloc(nTok * nHeads * d * 4);
  for (const t of [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const kv = Array.from({ length: nKv }, () => ({
      keys: put(quantize(t, wave(len * d))),
      values: put(quantize(t, wave(len * d))),
      positions: pos,
      length: len,
    }));
    const args = {
      out,
      queries: q,
      nTokens: nTok,
      nHeads,
      headDim: d,
      queryPositions: qp,
      kv,
      keyType: t,
      valueType: t,
      scale: 0.125,
    };
    for (let i = 0; i < 3; i++) b.attention(args);
    const reps = nTok === 1 ? 200 : 5;
    let ms = Number.POSITIVE_INFINITY;
    for (let rep = 0; rep < 5; rep++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) b.attention(args);
      const c = process.cpuUsage(c0);
      ms = Math.min(ms, (c.user + c.system) / 1000 / reps);
    }
    const flops = 4 * nHeads * d * nTok * (len - nTok / 2);
    console.log(
      `${nTok === 1 ? 'decode ' : 'prefill'} ${ggmlTypeName(t).padEnd(5)} ${ms.toFixed(3).padStart(8)} ms CPU  ${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s`,
    );
  }
}
await b.close();
