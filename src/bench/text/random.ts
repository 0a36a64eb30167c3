// Seeded draws on top of the sampler's Rng, so every generated sample is a pure function of its seed.
import { Rng } from '../../generate/sampler.js';

export { Rng };

/** Uniform integer in [lo, hi] (both inclusive), like Python's random.randint. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

export function choice<T>(rng: Rng, xs: readonly T[]): T {
  if (xs.length === 0) throw new RangeError('choice from an empty list');
  return xs[Math.floor(rng.next() * xs.length)];
}

/** Fisher–Yates, in place. */
export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** k distinct items, like Python's random.sample. */
export function sample<T>(rng: Rng, xs: readonly T[], k: number): T[] {
  if (k > xs.length) throw new RangeError(`sample of ${k} from ${xs.length} items`);
  const copy = xs.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}

/** k distinct integers of [0, n), without building the range when k << n. */
export function sampleIndices(rng: Rng, n: number, k: number): number[] {
  if (k > n) throw new RangeError(`sample of ${k} from ${n} items`);
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < k) {
    const i = Math.floor(rng.next() * n);
    if (!seen.has(i)) {
      seen.add(i);
      out.push(i);
    }
  }
  return out;
}

/** A number of exactly `digits` digits, the first not 0. */
export function randomDigits(rng: Rng, digits: number): string {
  let s = String(1 + Math.floor(rng.next() * 9));
  while (s.length < digits) s += String(Math.floor(rng.next() * 10));
  return s;
}

/** A version-4 UUID from 128 random bits, as RULER's `uuid.UUID(int=random.getrandbits(128), version=4)`. */
export function randomUuid(rng: Rng): string {
  const b: number[] = [];
  for (let i = 0; i < 16; i++) b.push(Math.floor(rng.next() * 256));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
