// The control block every pool thread shares: a small SharedArrayBuffer with the op, its arguments and the
// counters that hand out chunks and count finished ones. Only Atomics touch the counters.

/** Bumped by the main thread to publish an op; workers wait on it. */
export const SEQ = 0;
/** (seq tag << 20) | next unclaimed chunk; the tag stops a late worker from claiming a newer op's chunk. */
export const NEXT = 1;
/** Chunks finished in the current op; the main thread waits on it. */
export const DONE = 2;
export const NCHUNKS = 3;
export const STOP = 4;
export const OP = 5;
/** Workers parked in Atomics.wait (so the main thread only pays for notify when someone sleeps). */
export const SLEEPERS = 6;
/** 1 while the main thread is parked waiting for DONE. */
export const MAIN_WAITING = 7;
/** First argument slot. */
export const A = 8;
const SLOTS = 32;
/** Set by a worker whose chunk threw (the error itself goes to stderr). */
export const FAILED = SLOTS - 1;
/** Which of the pool's memories (and kernel instances) the op runs on. */
export const MEM = SLOTS - 2;

export const TAG_SHIFT = 20;
export const TAG_MASK = 0x7ff;
export const INDEX_MASK = (1 << TAG_SHIFT) - 1;

export enum Op {
  Matmul = 1,
  Quantize = 2,
  Attention = 3,
  Swiglu = 4,
  Product = 5,
}

export interface Control {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  /** Pointer-valued arguments (wasm32 addresses go up to 4 GiB). */
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
}

export function controlOf(sab: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * 4)): Control {
  return { sab, i32: new Int32Array(sab), u32: new Uint32Array(sab), f32: new Float32Array(sab) };
}

/** Claims the next chunk of the op tagged `tag`, or returns -1 when it has none left (or is over). */
export function claim(ctl: Int32Array, tag: number): number {
  for (;;) {
    const v = Atomics.load(ctl, NEXT);
    if (v >>> TAG_SHIFT !== tag) return -1;
    if ((v & INDEX_MASK) >= ctl[NCHUNKS]) return -1;
    if (Atomics.compareExchange(ctl, NEXT, v, v + 1) === v) return v & INDEX_MASK;
  }
}
