// The tensors the Python fixture scripts (test/presses/fixtures/*.py) feed the authors' code, rebuilt here bit
// for bit: value(stream, i) = ((lowbias32(stream · 1000003 + i) mod 8192) − 4096) / 4096, exact in f32 and f64.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function h32(x: number): number {
  let v = x >>> 0;
  v = Math.imul(v ^ (v >>> 16), 0x7feb352d) >>> 0;
  v = Math.imul(v ^ (v >>> 15), 0x846ca68b) >>> 0;
  return (v ^ (v >>> 16)) >>> 0;
}

export function value(stream: number, i: number): number {
  return ((h32(stream * 1000003 + i) % 8192) - 4096) / 4096;
}

/** `n` values of a stream, row-major as the Python script reshapes them. */
export function table(stream: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => value(stream, i));
}

/** A committed fixture next to its script. */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)), 'utf8')) as T;
}
