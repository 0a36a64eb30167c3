// The tiled WASM attention against the reference (plain loops, f64 sums): GQA groups of several sizes, KV
// heads of different lengths with gaps (evicted tokens), queries that see only a prefix or nothing, many key
// tiles and query blocks, decode split over key segments, probabilities, and every cache storage type read in
// place (the reference dequantizes the same stored bytes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { quantize } from '../../src/gguf/quants.js';
import { GgmlType, ggmlTypeName } from '../../src/gguf/types.js';
import type { AttentionArgs, Backend, KvHeadView } from '../../src/kernels/backend.js';
import { Heap } from '../../src/kernels/heap.js';
import { RefBackend } from '../../src/kernels/ref.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { put, randomF32, relMaxError, rng } from './helpers.js';

/** f32 accumulation with an online softmax against the reference's f64 sums. */
const TOL = 2e-5;

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

function kvHead(
  heap: Heap,
  length: number,
  headDim: number,
  start: number,
  next: () => number,
  kType = GgmlType.F32,
  vType = GgmlType.F32,
  scale = 1,
): KvHeadView {
  return {
    keys: put(heap, quantize(kType, randomF32(length * headDim, next, scale))),
    values: put(heap, quantize(vType, randomF32(length * headDim, next, scale))),
    positions: put(heap, gappedPositions(length, start, next)),
    length,
  };
}

interface Case {
  nHeads: number;
  lengths: number[];
  headDim: number;
  qPos: number[];
  kType?: GgmlType;
  vType?: GgmlType;
  probs?: boolean;
  /** Per KV head, each key's probability summed over the group's heads and the queries (H2O's input). */
  sums?: boolean;
  /** Queries' magnitude (default 2). */
  queryScale?: number;
  /** Keys' and values' magnitude (default 1). */
  kvScale?: number;
}

function compare(heap: Heap, ref: Backend, wasm: Backend, c: Case, seed: number): void {
  const next = rng(seed);
  const kType = c.kType ?? GgmlType.F32;
  const vType = c.vType ?? GgmlType.F32;
  const kv = c.lengths.map((n, i) => kvHead(heap, n, c.headDim, 3 + 2 * i, next, kType, vType, c.kvScale));
  const nTokens = c.qPos.length;
  const width = c.nHeads * c.headDim;
  const maxKeys = Math.max(...c.lengths) + 3;
  const queries = put(heap, randomF32(nTokens * width, next, c.queryScale ?? 2));
  const queryPositions = put(heap, Int32Array.from(c.qPos));
  const probsLength = c.nHeads * nTokens * maxKeys;
  const run = (b: Backend) => {
    const out = put(heap, new Float32Array(nTokens * width).fill(5));
    const probs = c.probs ? put(heap, new Float32Array(probsLength).fill(-7)) : undefined;
    const sums = c.sums ? put(heap, new Float32Array(c.lengths.length * maxKeys).fill(-7)) : undefined;
    const args: AttentionArgs = {
      out,
      queries,
      nTokens,
      nHeads: c.nHeads,
      headDim: c.headDim,
      queryPositions,
      kv,
      keyType: kType,
      valueType: vType,
      scale: 1 / Math.sqrt(c.headDim),
      probs,
      keySums: sums,
      maxKeys: c.probs || c.sums ? maxKeys : undefined,
    };
    b.attention(args);
    return {
      out: heap.f32(out, nTokens * width).slice(),
      probs: probs === undefined ? undefined : heap.f32(probs, probsLength).slice(),
      sums: sums === undefined ? undefined : heap.f32(sums, c.lengths.length * maxKeys).slice(),
    };
  };
  const want = run(ref);
  const got = run(wasm);
  const e = relMaxError(want.out, got.out);
  assert.ok(e <= TOL, `output error ${e}`);
  if (want.sums && got.sums) {
    const e2 = relMaxError(want.sums, got.sums);
    assert.ok(e2 <= TOL, `key sums error ${e2}`);
    // Past each head's length: untouched.
    for (const [h, len] of c.lengths.entries()) assert.equal(got.sums?.[h * maxKeys + len], -7);
  }
  if (want.probs && got.probs) {
    const p = relMaxError(want.probs, got.probs);
    assert.ok(p <= TOL, `probs error ${p}`);
    // Entries past each head's cache length are left untouched.
    const group = c.nHeads / c.lengths.length;
    for (let h = 0; h < c.nHeads; h++) {
      const len = c.lengths[Math.floor(h / group)];
      for (let t = 0; t < nTokens; t++) assert.equal(got.probs[(h * nTokens + t) * maxKeys + len], -7);
    }
  }
}

/** Query positions for a prefill block whose tokens follow the cached ones, plus probes before and inside. */
function prefillPositions(n: number, first: number): number[] {
  return [1, 7, ...Array.from({ length: n - 2 }, (_, i) => first + i)];
}

for (const threads of [1, 2]) {
  describe(`wasm attention, ${threads} thread(s)`, () => {
    const heap = new Heap(64 << 20);
    const ref = new RefBackend(heap);
    let wasm: Backend;
    before(async () => {
      wasm = await createWasmBackend(heap, { threads });
    });
    after(() => wasm.close());

    for (const headDim of [64, 36]) {
      test(`GQA 8/2 heads, headDim ${headDim}, uneven gapped caches, probabilities`, () => {
        compare(
          heap,
          ref,
          wasm,
          { nHeads: 8, lengths: [50, 23], headDim, qPos: [1, 12, 30, 60, 200], probs: true },
          headDim * 10 + threads,
        );
      });
    }

    test('prefill: 70 queries in several blocks against 300 keys in many tiles, groups of 3 (and odd rows)', () => {
      compare(
        heap,
        ref,
        wasm,
        { nHeads: 9, lengths: [300, 257, 140], headDim: 64, qPos: prefillPositions(70, 500) },
        7 + threads,
      );
    });

    test('prefill with probabilities and key sums, group of 7 (Qwen2.5-7B), head 128', () => {
      compare(
        heap,
        ref,
        wasm,
        {
          nHeads: 14,
          lengths: [97, 130],
          headDim: 128,
          qPos: prefillPositions(20, 180),
          probs: true,
          sums: true,
        },
        17 + threads,
      );
    });

    test('key sums alone (what H2O reads): 70 queries in several blocks over many tiles, f16 cache', () => {
      const qPos = prefillPositions(70, 500);
      const f16 = { kType: GgmlType.F16, vType: GgmlType.F16 };
      compare(
        heap,
        ref,
        wasm,
        { nHeads: 9, lengths: [300, 257, 140], headDim: 64, qPos, sums: true, ...f16 },
        37 + threads,
      );
    });

    test('decode: one query over 3000 keys (split into key segments with two threads)', () => {
      compare(
        heap,
        ref,
        wasm,
        { nHeads: 4, lengths: [3000, 2100], headDim: 64, qPos: [100000] },
        27 + threads,
      );
    });

    test('a query that sees nothing gets a zero output', () => {
      const next = rng(5);
      const kv = [kvHead(heap, 40, 32, 10, next)];
      const out = heap.alloc(2 * 32 * 4);
      wasm.attention({
        out,
        queries: put(heap, randomF32(2 * 32, next)),
        nTokens: 1,
        nHeads: 2,
        headDim: 32,
        queryPositions: put(heap, Int32Array.from([3])),
        kv,
        keyType: GgmlType.F32,
        valueType: GgmlType.F32,
        scale: 0.2,
      });
      assert.ok(heap.f32(out, 64).every((v) => v === 0));
    });

    // f16 keys and values are converted without their exponent rebias (2^112), which the kernel puts on the
    // queries and the softmax weights instead, unless a query is so large that this could overflow.
    test('f16 cache: queries too large to carry the rebias, and subnormal halves', () => {
      const f16 = { kType: GgmlType.F16, vType: GgmlType.F16 };
      const base = { nHeads: 6, lengths: [300, 200], headDim: 64, ...f16 };
      compare(
        heap,
        ref,
        wasm,
        { ...base, qPos: prefillPositions(12, 600), probs: true, queryScale: 1e6 },
        91,
      );
      compare(heap, ref, wasm, { ...base, qPos: [5000], queryScale: 1e6 }, 92);
      // Halves below 2^-14 are subnormal (as singles times 2^-112 too); queries large enough to score them.
      compare(
        heap,
        ref,
        wasm,
        { ...base, qPos: prefillPositions(12, 600), probs: true, kvScale: 3e-5, queryScale: 3e4 },
        93,
      );
      compare(heap, ref, wasm, { ...base, qPos: [5000], kvScale: 3e-5, queryScale: 3e3 }, 94);
    });

    const types = [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];
    for (const kType of [GgmlType.F32, ...types]) {
      for (const vType of [GgmlType.F32, ...types]) {
        if (kType === GgmlType.F32 && vType === GgmlType.F32) continue;
        test(`${ggmlTypeName(kType)} keys, ${ggmlTypeName(vType)} values read in place: prefill with probabilities, decode`, () => {
          compare(
            heap,
            ref,
            wasm,
            {
              nHeads: 6,
              lengths: [150, 90],
              headDim: 64,
              qPos: prefillPositions(12, 300),
              kType,
              vType,
              probs: true,
            },
            kType * 31 + vType,
          );
          compare(
            heap,
            ref,
            wasm,
            { nHeads: 6, lengths: [1500, 700], headDim: 64, qPos: [5000], kType, vType },
            kType * 37 + vType,
          );
        });
      }
    }
  });
}
