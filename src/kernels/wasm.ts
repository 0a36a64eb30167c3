// The WebAssembly backend: AssemblyScript SIMD kernels (assembly/) on the shared heap, run by a pool of
// worker threads plus the calling thread. Integer weight types multiply against int8-quantized
// activations (one f32 scale per 32 values, per 256 for K-quants); float weights use f32 FMA.
import { GgmlType, ggmlTypeName } from '../gguf/types.js';
import { host, type KernelBuild } from '../host/index.js';
import type { AttentionArgs, Backend, WeightMatrix } from './backend.js';
import { A, OP, Op } from './control.js';
import type { Heap } from './heap.js';
import { instantiateKernels, type KernelExports } from './ops.js';
import { Pool } from './pool.js';
import { RefBackend } from './ref.js';

export interface WasmBackendOptions {
  /** Threads in all, the calling one included. Default: os.availableParallelism() (navigator.hardwareConcurrency). */
  threads?: number;
  /** Use the relaxed-SIMD build. Default: when this Node supports it; `true` makes it an error if not. */
  relaxed?: boolean;
  /**
   * Within relaxed SIMD, the build with the fused i8×i7 dot-add. Default: when a probe finds this runtime
   * computes it correctly (V8 ≥ 12, Node ≥ 22; Node 20's V8 11.3 does not); `false` never.
   */
  dotAdd?: boolean;
}

/** Rows decoded per chunk in a prefill: enough to reuse each token tile, small enough for L2. */
const PREFILL_ROWS = 16;
/** Quantize activations on all threads above this many values. */
const PARALLEL_QUANT = 1 << 16;
/** Rows (query heads × tokens) an attention item processes against each key tile. */
const ATTENTION_ROWS = 32;
/** Fewest keys worth a segment of their own when decode attention is split across threads. */
const MIN_SEGMENT_KEYS = 256;
/** Cache storage types the attention kernel reads directly. */
const KV_TYPES = new Set<GgmlType>([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0]);

type Build = KernelBuild;

/**
 * The relaxed build's bytes if this Node accepts them, else null. Node 20 (V8 11.3) needs the experimental
 * flag, set only when validation fails without it (later V8s have relaxed SIMD on and no such flag).
 */
async function relaxedBytes(build: Build = 'relaxed'): Promise<Uint8Array<ArrayBuffer> | null> {
  const bytes = await host.kernelBytes(build);
  if (WebAssembly.validate(bytes)) return bytes;
  host.enableRelaxedSimd();
  return WebAssembly.validate(bytes) ? bytes : null;
}

/**
 * What i32x4.relaxed_dot_i8x16_i7x16_add_s must give on probeDotAdd's bytes (assembly/simd.ts): exact sums
 * with the second operand's bytes read as unsigned (0..255), as AVX-VNNI's vpdpbusd does.
 */
function expectedProbe(): number {
  const mix = (x: number[], w: number[], init: number[]) => {
    let r = 0;
    for (let j = 0; j < 4; j++) {
      let lane = init[j];
      for (let k = 0; k < 4; k++) lane += x[4 * j + k] * (w[4 * j + k] & 0xff);
      r += (2 * j + 1) * lane;
    }
    return r;
  };
  const x = [-127, 126, -5, 100, 77, -127, 3, 0, -64, 64, 127, -1, 12, -90, 45, 8];
  const w = [127, 126, 1, 0, 99, 64, 33, 5, 7, 120, 127, 2, 50, 17, 88, 101];
  const xs = [-128, -128, 127, 127, 127, 127, -1, 2, -100, 50, -7, 0, 127, -128, 127, -128];
  const ws = [-1, -1, -1, -1, -128, -127, -2, 0x7f, -56, -1, 1, -1, -1, -1, -1, -1];
  const r = mix(x, w, [1, 2, 3, 4]) + 11 * mix(xs, ws, [-5, 6, -7, 8]);
  return r;
}

/** The dot-add build, if this runtime runs it and computes the fused dot-add right. */
async function dotAddModule(): Promise<WebAssembly.Module | null> {
  const bytes = await relaxedBytes('relaxed-dot');
  if (!bytes) return null;
  const module = await WebAssembly.compile(bytes);
  const memory = new WebAssembly.Memory({ initial: 17, maximum: 17, shared: true });
  const k = instantiateKernels(module, memory);
  return k.probeDotAdd() === expectedProbe() ? module : null;
}

export async function createWasmBackend(heap: Heap, opts: WasmBackendOptions = {}): Promise<Backend> {
  return (await createWasmBackends([heap], opts))[0];
}

/**
 * One backend per heap, all sharing one pool of threads: each thread holds a kernel instance on every heap's
 * memory and an op says which memory it runs on. A model past 4 GiB spreads its layers over several heaps
 * (wasm32 memories), so weights, activations and KV cache of a layer share one memory.
 */
export async function createWasmBackends(heaps: Heap[], opts: WasmBackendOptions = {}): Promise<Backend[]> {
  const threads = Math.max(1, Math.floor(opts.threads ?? host.cpus()));
  const dot = opts.relaxed === false || opts.dotAdd === false ? null : await dotAddModule();
  if (opts.dotAdd === true && !dot)
    throw new Error('this Node.js does not compute the relaxed i8×i7 dot-add correctly');
  const bytes = dot || opts.relaxed === false ? null : await relaxedBytes();
  if (opts.relaxed === true && !bytes && !dot)
    throw new Error('this Node.js does not support relaxed WebAssembly SIMD');
  const build: Build = dot ? 'relaxed-dot' : bytes ? 'relaxed' : 'plain';
  const module = dot ?? (await WebAssembly.compile(bytes ?? (await host.kernelBytes('plain'))));
  const memories = heaps.map((h) => h.memory);
  const k = memories.map((m) => instantiateKernels(module, m));
  const pool = await Pool.create(k, module, memories, threads);
  const shared = new SharedPool(pool, heaps.length);
  return heaps.map((heap, i) => new WasmBackend(heap, k[i], shared, i, build));
}

/** The pool of a set of backends: it closes when the last of them does. */
class SharedPool {
  constructor(
    readonly pool: Pool,
    private open: number,
  ) {}
  async release(): Promise<void> {
    if (--this.open === 0) await this.pool.close();
  }
}

/** A heap buffer that grows (by reallocation) to the largest size asked of it. */
class Scratch {
  private ptr = 0;
  private bytes = 0;
  constructor(private readonly heap: Heap) {}
  get(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.bytes > 0) this.heap.release(this.ptr);
      this.bytes = Math.max(bytes, Math.ceil(this.bytes * 1.5));
      this.ptr = this.heap.alloc(this.bytes);
    }
    return this.ptr;
  }
  free(): void {
    if (this.bytes > 0) this.heap.release(this.ptr);
    this.bytes = 0;
  }
}

class WasmBackend implements Backend {
  readonly name: string;
  private readonly ref: RefBackend;
  private readonly act: Scratch;
  private readonly rowsScratch: Scratch;
  private readonly kvDesc: Scratch;
  private readonly scores: Scratch;
  private readonly partials: Scratch;
  private readonly sums: Scratch;

  private readonly pool: Pool;
  private closed = false;

  constructor(
    readonly heap: Heap,
    private readonly k: KernelExports,
    private readonly shared: SharedPool,
    /** Index of this backend's memory in the pool. */
    private readonly mem: number,
    build: Build,
  ) {
    this.pool = shared.pool;
    this.name = `wasm${build === 'plain' ? '' : `-${build}`}×${this.pool.threads}`;
    this.ref = new RefBackend(heap);
    this.act = new Scratch(heap);
    this.rowsScratch = new Scratch(heap);
    this.kvDesc = new Scratch(heap);
    this.scores = new Scratch(heap);
    this.partials = new Scratch(heap);
    this.sums = new Scratch(heap);
  }

  supports(type: GgmlType): boolean {
    return this.k.family(type) >= 0;
  }

  matmul(out: number, w: WeightMatrix, x: number, nTokens: number): void {
    if (nTokens <= 0 || w.rows <= 0) return;
    if (!this.supports(w.type))
      throw new Error(`wasm matmul: unsupported weight type ${ggmlTypeName(w.type)}`);
    const threads = this.pool.threads;
    let input = x;
    const kind = this.k.actKind(w.type, nTokens);
    if (kind >= 0) {
      input = this.act.get(nTokens * this.k.actStride(kind, w.cols));
      this.quantize(kind, x, w.cols, input, nTokens);
    }
    // Decode (one token) streams each weight row once: one contiguous share of the rows per thread keeps the
    // hardware prefetchers going (SmolLM2's layer matmuls on two threads: 16 interleaved chunks each read at
    // 16 GB/s, two halves at 26; bench/gemv-layers.ts), and it needs no scratch. Prefill: many small chunks,
    // so that a thread descheduled mid-chunk holds the op up by that chunk only, each bounded by the decoded
    // rows fitting in L2.
    const per =
      nTokens === 1
        ? Math.max(4, Math.ceil(w.rows / threads))
        : Math.max(1, Math.min(PREFILL_ROWS, Math.ceil(w.rows / (threads * 4))));
    const stride = nTokens === 1 ? 0 : Math.ceil(this.k.scratchBytes(w.type, w.cols, per) / 64) * 64;
    const c = this.pool.ctl;
    c.i32[OP] = Op.Matmul;
    c.u32.set([w.type, w.ptr, w.rowBytes, w.rows, w.cols, input, nTokens, out, per], A);
    c.u32[A + 9] = this.rowsScratch.get(stride * threads);
    c.u32[A + 10] = stride;
    this.pool.run(Math.ceil(w.rows / per), this.mem);
  }

  product(out: number, a: number, b: number, m: number, n: number, k: number, batch: number): void {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    // Items: one matrix's block of PREFILL_ROWS rows of b; chunks of them so every thread gets a few.
    const blocks = Math.ceil(n / PREFILL_ROWS);
    const items = batch * blocks;
    const per = Math.max(1, Math.ceil(items / (this.pool.threads * 4)));
    if (this.pool.threads === 1 || items === 1) {
      this.k.productItems(a, b, m, n, k, out, PREFILL_ROWS, 0, items);
      return;
    }
    const c = this.pool.ctl;
    c.i32[OP] = Op.Product;
    c.u32.set([a, b, m, n, k, out, PREFILL_ROWS, per, items], A);
    this.pool.run(Math.ceil(items / per), this.mem);
  }

  private quantize(kind: number, x: number, cols: number, act: number, nTokens: number): void {
    if (nTokens * cols < PARALLEL_QUANT || this.pool.threads === 1) {
      this.k.quantizeRows(kind, x, cols, act, 0, nTokens);
      return;
    }
    const per = Math.ceil(nTokens / (this.pool.threads * 2));
    const c = this.pool.ctl;
    c.i32[OP] = Op.Quantize;
    c.u32.set([kind, x, cols, act, nTokens, per], A);
    this.pool.run(Math.ceil(nTokens / per), this.mem);
  }

  attention(a: AttentionArgs): void {
    const { nTokens, nHeads, headDim, kv } = a;
    if (
      headDim % 4 !== 0 ||
      nHeads % kv.length !== 0 ||
      !KV_TYPES.has(a.keyType) ||
      !KV_TYPES.has(a.valueType)
    ) {
      this.ref.attention(a);
      return;
    }
    const desc = this.kvDesc.get(kv.length * 16);
    const d = new Uint32Array(this.heap.memory.buffer, desc, kv.length * 4);
    let longest = 1;
    kv.forEach((h, i) => {
      d.set([h.keys, h.values, h.positions, h.length], i * 4);
      longest = Math.max(longest, h.length);
    });
    const threads = this.pool.threads;
    // An item: one KV head, a block of query tokens (the group's heads × bq tokens ≈ 32 rows share each key
    // and value tile) and, when there are too few of those to keep every thread busy (decode), one segment
    // of the keys, merged afterwards.
    const group = nHeads / kv.length;
    const bq = Math.min(nTokens, Math.max(1, Math.floor(ATTENTION_ROWS / group)));
    const qItems = kv.length * Math.ceil(nTokens / bq);
    const second = a.probs !== undefined || a.keySums !== undefined;
    const nSeg =
      second || threads === 1
        ? 1
        : Math.max(1, Math.min(Math.ceil((threads * 4) / qItems), Math.floor(longest / MIN_SEGMENT_KEYS)));
    const items = qItems * nSeg;
    const per = Math.max(1, Math.ceil(items / (threads * 4)));
    const rows = bq * group;
    const scratchBytes = Math.ceil(this.k.attentionScratchBytes(rows, headDim) / 64) * 64;
    const partial =
      nSeg > 1 ? this.partials.get(items * this.k.attentionPartialFloats(rows, headDim) * 4) : 0;
    // Key sums: one row per (KV head, query block), added up after the run (threads never share a row).
    const sumStride = a.maxKeys ?? longest;
    const sums = a.keySums !== undefined ? this.sums.get(qItems * sumStride * 4) : 0;
    const c = this.pool.ctl;
    c.i32[OP] = Op.Attention;
    c.u32.set(
      [a.out, a.queries, nTokens, nHeads, headDim, a.queryPositions, desc, kv.length, a.keyType, a.valueType],
      A,
    );
    c.f32[A + 10] = a.scale;
    c.u32.set(
      [
        a.probs ?? 0,
        a.keySums !== undefined ? sumStride : (a.maxKeys ?? 0),
        this.scores.get(scratchBytes * threads),
        scratchBytes,
        bq,
        nSeg,
        partial,
        per,
        items,
      ],
      A + 11,
    );
    c.u32[A + 20] = sums;
    this.pool.run(Math.ceil(items / per), this.mem);
    if (nSeg > 1) this.k.attentionMerge(a.out, partial, nTokens, nHeads, headDim, kv.length, bq, nSeg);
    if (a.keySums !== undefined)
      this.k.attentionSums(a.keySums, sums, desc, kv.length, Math.ceil(nTokens / bq), sumStride);
  }

  swiglu(gate: number, up: number, count: number): void {
    if (count <= 0) return;
    // Whole multiples of 4 values per chunk, so every chunk but the last runs four lanes at a time.
    const per = Math.max(4096, Math.ceil(count / (this.pool.threads * 4 * 4)) * 4);
    const c = this.pool.ctl;
    c.i32[OP] = Op.Swiglu;
    c.u32.set([gate, up, per, count], A);
    this.pool.run(Math.ceil(count / per), this.mem);
  }

  encodeKvRows(type: GgmlType, dst: number, src: number, srcStride: number, n: number, d: number): void {
    // A few hundred values per token and head: one call on this thread costs less than waking the pool.
    if (!KV_TYPES.has(type) || (type !== GgmlType.F32 && type !== GgmlType.F16 && d % 32 !== 0)) {
      this.ref.encodeKvRows(type, dst, src, srcStride, n, d);
      return;
    }
    this.k.encodeKvRows(type, src, srcStride, n, d, dst);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.shared.release();
    for (const s of [this.act, this.rowsScratch, this.kvDesc, this.scores, this.partials, this.sums])
      s.free();
  }
}
