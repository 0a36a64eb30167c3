// One shared WebAssembly.Memory holds weights, activations and the KV cache, so that worker threads running
// the WASM kernels see the same bytes without copies. The allocator is a first-fit free list kept in JS; the
// low RESERVED bytes belong to the WASM module's own static data and stack.

const PAGE = 65536;
const ALIGN = 64;
/** Bytes at the bottom of memory reserved for the kernel module (static data + shadow stack). */
export const RESERVED = 1 << 20;
/** wasm32 addresses at most 4 GiB. */
const MAX_PAGES = 65536;

interface Block {
  ptr: number;
  bytes: number;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  private top = RESERVED;
  private readonly free: Block[] = [];
  private readonly live = new Map<number, number>();
  private liveBytes = 0;
  private peakBytes = 0;
  private highWater = RESERVED;

  constructor(initialBytes = 16 << 20) {
    const initial = Math.ceil(Math.max(initialBytes, RESERVED + PAGE) / PAGE);
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
  }

  /** Bytes currently allocated (not counting free-list holes). */
  get allocated(): number {
    return this.liveBytes;
  }
  get peak(): number {
    return this.peakBytes;
  }
  /** Highest address ever handed out: what the process has touched, fragmentation included. */
  get highWaterMark(): number {
    return this.highWater;
  }
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`bad allocation size ${bytes}`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let ptr = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.bytes < size) continue;
      ptr = b.ptr;
      if (b.bytes === size) this.free.splice(i, 1);
      else {
        b.ptr += size;
        b.bytes -= size;
      }
      break;
    }
    if (ptr < 0) {
      ptr = this.top;
      const end = ptr + size;
      if (end > MAX_PAGES * PAGE) {
        throw new RangeError(`out of WebAssembly memory: ${end} bytes needed, 4 GiB is the wasm32 limit`);
      }
      const have = this.memory.buffer.byteLength;
      if (end > have) this.memory.grow(Math.ceil((Math.max(end, have * 1.25) - have) / PAGE));
      this.top = end;
      this.highWater = Math.max(this.highWater, end);
    }
    this.live.set(ptr, size);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return ptr;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`release of unknown pointer ${ptr}`);
    this.live.delete(ptr);
    this.liveBytes -= size;
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid].ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    this.free.splice(lo, 0, { ptr, bytes: size });
    const next = this.free[lo + 1];
    if (next && ptr + size === next.ptr) {
      this.free[lo].bytes += next.bytes;
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev && prev.ptr + prev.bytes === ptr) {
      prev.bytes += this.free[lo].bytes;
      this.free.splice(lo, 1);
    }
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.bytes === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
}

/**
 * A copy of a view of heap memory, out of it. Not `view.slice()`: on a shared memory's view V8 copies element
 * by element there, 10–16× slower than `set` (a Qwen2.5 logits row, 0.6 MB: 1.8 ms against 0.1).
 */
export function copyOut<T extends Float32Array | Int32Array>(view: T): T {
  const out = (
    view instanceof Float32Array ? new Float32Array(view.length) : new Int32Array(view.length)
  ) as T;
  out.set(view);
  return out;
}
