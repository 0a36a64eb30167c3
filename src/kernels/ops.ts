// The operations a pool thread can run, shared by the main thread and the workers: each op's arguments sit
// in the control block (control.ts) and its work is cut into chunks that any thread may claim.
import { A, type Control, MEM, OP, Op } from './control.js';

/** The kernel module's exports (assembly/index.ts); pointers are byte offsets into the shared heap. */
export interface KernelExports {
  matmulRows(
    type: number,
    w: number,
    rowBytes: number,
    rows: number,
    cols: number,
    x: number,
    nTokens: number,
    out: number,
    r0: number,
    r1: number,
    scratch: number,
  ): void;
  quantizeRows(kind: number, x: number, cols: number, act: number, t0: number, t1: number): void;
  productItems(
    a: number,
    b: number,
    m: number,
    n: number,
    k: number,
    out: number,
    per: number,
    i0: number,
    i1: number,
  ): void;
  attention(
    out: number,
    q: number,
    nTokens: number,
    nHeads: number,
    headDim: number,
    qpos: number,
    kv: number,
    nKv: number,
    kType: number,
    vType: number,
    scale: number,
    probs: number,
    maxKeys: number,
    sums: number,
    scratch: number,
    bq: number,
    nSeg: number,
    partial: number,
    i0: number,
    i1: number,
  ): void;
  attentionMerge(
    out: number,
    partial: number,
    nTokens: number,
    nHeads: number,
    headDim: number,
    nKv: number,
    bq: number,
    nSeg: number,
  ): void;
  attentionScratchBytes(rows: number, headDim: number): number;
  attentionSums(out: number, sums: number, kv: number, nKv: number, nQB: number, maxKeys: number): void;
  swiglu(gate: number, up: number, i0: number, i1: number): void;
  encodeKvRows(type: number, src: number, srcStride: number, n: number, d: number, dst: number): void;
  attentionPartialFloats(rows: number, headDim: number): number;
  /** Activation layout for a matmul of `type` over `nTokens` tokens; -1 for f32 input. */
  actKind(type: number, nTokens: number): number;
  actStride(kind: number, cols: number): number;
  /** Scratch bytes one thread needs for a matmul chunk of `rowsPerChunk` rows. */
  scratchBytes(type: number, cols: number, rowsPerChunk: number): number;
  family(type: number): number;
  /** The fused i8×i7 dot-add on fixed bytes (0 outside the dot-add build): the run-time correctness check. */
  probeDotAdd(): number;
}

/** Instantiates the kernel module against the shared memory (no other imports are used). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const abort = (): never => {
    throw new Error('kernel module aborted');
  };
  const instance = new WebAssembly.Instance(module, { env: { memory, abort } });
  return instance.exports as unknown as KernelExports;
}

/** Runs chunk `c` of the current op on thread `tid` (0 = main), with the instance of the op's memory. */
export function runChunk(instances: readonly KernelExports[], ctl: Control, tid: number, c: number): void {
  const k = instances[ctl.i32[MEM]];
  const u = ctl.u32;
  switch (ctl.i32[OP]) {
    case Op.Matmul: {
      const rows = u[A + 3];
      const per = u[A + 8];
      const r0 = c * per;
      const r1 = Math.min(rows, r0 + per);
      const scratch = u[A + 9] + tid * u[A + 10];
      k.matmulRows(u[A], u[A + 1], u[A + 2], rows, u[A + 4], u[A + 5], u[A + 6], u[A + 7], r0, r1, scratch);
      return;
    }
    case Op.Quantize: {
      const per = u[A + 5];
      const t0 = c * per;
      k.quantizeRows(u[A], u[A + 1], u[A + 2], u[A + 3], t0, Math.min(u[A + 4], t0 + per));
      return;
    }
    case Op.Attention: {
      const per = u[A + 18];
      const i0 = c * per;
      const i1 = Math.min(u[A + 19], i0 + per);
      const [out, q, nTokens, nHeads, headDim, qpos, kv, nKv, kType, vType] = u.subarray(A, A + 10);
      const scratch = u[A + 13] + tid * u[A + 14];
      k.attention(
        out,
        q,
        nTokens,
        nHeads,
        headDim,
        qpos,
        kv,
        nKv,
        kType,
        vType,
        ctl.f32[A + 10],
        u[A + 11],
        u[A + 12],
        u[A + 20],
        scratch,
        u[A + 15],
        u[A + 16],
        u[A + 17],
        i0,
        i1,
      );
      return;
    }
    case Op.Product: {
      const per = u[A + 7];
      const i0 = c * per;
      k.productItems(
        u[A],
        u[A + 1],
        u[A + 2],
        u[A + 3],
        u[A + 4],
        u[A + 5],
        u[A + 6],
        i0,
        Math.min(u[A + 8], i0 + per),
      );
      return;
    }
    case Op.Swiglu: {
      const per = u[A + 2];
      const i0 = c * per;
      k.swiglu(u[A], u[A + 1], i0, Math.min(u[A + 3], i0 + per));
      return;
    }
    default:
      throw new Error(`kernel pool: unknown op ${ctl.i32[OP]}`);
  }
}
