// WASM attention against the reference: GQA (8 query heads on 2 KV heads), KV heads of different lengths,
// kept positions with gaps (evicted tokens), queries that see only a prefix or nothing, probabilities.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GgmlType } from '../../src/gguf/types.js';
import type { AttentionArgs, Backend, KvHeadView } from '../../src/kernels/backend.js';
import { Heap } from '../../src/kernels/heap.js';
import { RefBackend } from '../../src/kernels/ref.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { put, randomF32, relMaxError, rng } from './helpers.js';

/** f32 scores against the reference's f64 ones. */
const TOL = 1e-5;

/** `length` increasing positions drawn from [start, start + 2·length), so some are missing. */
function gappedPositions(length: number, start: number, next: () => number): Int32Array {
  const pos = new Int32Array(length);
  let p = start;
  for (let i = 0; i < length; i++) {
    pos[i] = p;
    p += 1 + Math.floor(next() * 2);
  }
  return pos;
}

function kvHead(heap: Heap, length: number, headDim: number, start: number, next: () => number): KvHeadView {
  return {
    keys: put(heap, randomF32(length * headDim, next)),
    values: put(heap, randomF32(length * headDim, next)),
    positions: put(heap, gappedPositions(length, start, next)),
    length,
  };
}

for (const threads of [1, 2]) {
  describe(`wasm attention, ${threads} thread(s)`, () => {
    const heap = new Heap(32 << 20);
    const ref = new RefBackend(heap);
    let wasm: Backend;
    before(async () => {
      wasm = await createWasmBackend(heap, { threads });
    });
    after(() => wasm.close());

    for (const headDim of [64, 36]) {
      test(`GQA 8/2 heads, headDim ${headDim}, uneven gapped caches, probabilities`, () => {
        const next = rng(headDim * 10 + threads);
        const nHeads = 8;
        const kv = [kvHead(heap, 50, headDim, 3, next), kvHead(heap, 23, headDim, 5, next)];
        // Before every kept key, inside both caches, past one cache's end, past both.
        const qPos = Int32Array.from([1, 12, 30, 60, 200]);
        const nTokens = qPos.length;
        const maxKeys = 64;
        const width = nHeads * headDim;
        const queries = put(heap, randomF32(nTokens * width, next, 2));
        const probsBytes = nHeads * nTokens * maxKeys * 4;
        const run = (b: Backend) => {
          const out = heap.alloc(nTokens * width * 4);
          const probs = put(heap, new Float32Array(probsBytes / 4).fill(-7));
          const args: AttentionArgs = {
            out,
            queries,
            nTokens,
            nHeads,
            headDim,
            queryPositions: put(heap, qPos),
            kv,
            keyType: GgmlType.F32,
            valueType: GgmlType.F32,
            scale: 1 / Math.sqrt(headDim),
            probs,
            maxKeys,
          };
          b.attention(args);
          return { out: heap.f32(out, nTokens * width), probs: heap.f32(probs, probsBytes / 4) };
        };
        const want = run(ref);
        const got = run(wasm);
        assert.ok(relMaxError(want.out, got.out) <= TOL, `output error ${relMaxError(want.out, got.out)}`);
        assert.ok(
          relMaxError(want.probs, got.probs) <= TOL,
          `probs error ${relMaxError(want.probs, got.probs)}`,
        );
        // Entries past each head's cache length are left untouched.
        assert.equal(got.probs[maxKeys - 1], -7);
        // The first query precedes every kept key: zero output, zero probabilities.
        assert.ok(got.out.subarray(0, headDim).every((v) => v === 0));
      });
    }

    test('without probabilities, one token (decode)', () => {
      const next = rng(99 + threads);
      const headDim = 64;
      const kv = [kvHead(heap, 40, headDim, 0, next), kvHead(heap, 40, headDim, 0, next)];
      const width = 4 * headDim;
      const queries = put(heap, randomF32(width, next));
      const qp = put(heap, Int32Array.from([1000]));
      const outs = [ref, wasm].map((b) => {
        const out = heap.alloc(width * 4);
        b.attention({
          out,
          queries,
          nTokens: 1,
          nHeads: 4,
          headDim,
          queryPositions: qp,
          kv,
          keyType: GgmlType.F32,
          valueType: GgmlType.F32,
          scale: 0.125,
        });
        return heap.f32(out, width);
      });
      assert.ok(relMaxError(outs[0], outs[1]) <= TOL);
    });
  });
}
