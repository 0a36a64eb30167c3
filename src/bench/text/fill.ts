// Sizing a haystack to a token budget: whole units (sentences, noise lines) while they fit, then the next unit
// cut at a word boundary (inside a word when words are long). The cut follows the benchmarks' own practice:
// Mohtashami & Jaggi's passkey cuts its filler at a character count, BABILong cuts its last background
// sentence at a token count.
import type { TokenCounter } from '../tasks/types.js';
import { pieceCost } from './cost.js';

export interface Filled {
  units: string[];
  /** Estimated tokens of the units joined by `sep` (each counted with the separator before it). */
  cost: number;
  /** Whether the last unit was cut short. */
  cut: boolean;
}

/**
 * Takes units `unit(0), unit(1), ...` while their summed cost stays within `budget`, then as many words of
 * the next one as bring the total closest to the budget. `minUnitCost` skips units shorter than that
 * (BABILong's sampler drops sentences under 10 tokens).
 */
export function fillUnits(
  tok: TokenCounter,
  unit: (i: number) => string,
  sep: string,
  budget: number,
  opts: { minUnitCost?: number; maxUnits?: number } = {},
): Filled {
  const units: string[] = [];
  let cost = 0;
  const maxUnits = opts.maxUnits ?? 10_000_000;
  for (let i = 0; i < maxUnits && cost < budget; i++) {
    const u = unit(i);
    const c = pieceCost(tok, sep, u);
    if (c < (opts.minUnitCost ?? 0)) continue;
    if (cost + c <= budget) {
      units.push(u);
      cost += c;
      continue;
    }
    const part = cutWords(tok, sep, u, budget - cost);
    if (part !== undefined) {
      units.push(part.text);
      cost += part.cost;
      return { units, cost, cut: true };
    }
    break;
  }
  return { units, cost, cut: false };
}

/**
 * The prefix of `u` whose cost is closest to `room`: whole words first, then characters of the next word when
 * words are coarse (a UUID is a dozen tokens). Undefined when nothing fits.
 */
function cutWords(
  tok: TokenCounter,
  sep: string,
  u: string,
  room: number,
): { text: string; cost: number } | undefined {
  const words = u.split(' ');
  const costOf = (k: number) => pieceCost(tok, sep, words.slice(0, k).join(' '));
  const k = largest(words.length - 1, (m) => costOf(m) <= room);
  const head = words.slice(0, k).join(' ');
  const headCost = k === 0 ? 0 : costOf(k);
  // Characters of word k: the longest prefix that still fits, or one more when that lands closer.
  const next = words[k];
  const withChars = (c: number) => (k === 0 ? next.slice(0, c) : `${head} ${next.slice(0, c)}`);
  const charCost = (c: number) => pieceCost(tok, sep, withChars(c));
  let c = largest(next.length - 1, (m) => charCost(m) <= room);
  if (
    c + 1 < next.length &&
    Math.abs(charCost(c + 1) - room) < Math.abs((c === 0 ? headCost : charCost(c)) - room)
  )
    c++;
  if (c > 0) return { text: withChars(c), cost: charCost(c) };
  if (k === 0) return undefined;
  return { text: head, cost: headCost };
}

/** Largest m in [0, hi] with ok(m), for ok monotone (true then false); 0 when only ok(0). */
function largest(hi: number, ok: (m: number) => boolean): number {
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Tolerance the fitting loop aims for: well inside ±1% of the target. */
export function tolerance(target: number): number {
  return Math.max(2, Math.floor(target * 0.004));
}

/**
 * Calls `build(budget)` and measures the result once per round, shifting the budget by the miss, until the
 * measured length is within tolerance of `target` (at most `rounds` full tokenizations). Returns the closest.
 */
export function fitLength<T>(
  target: number,
  firstBudget: number,
  build: (budget: number) => T,
  measure: (v: T) => number,
  rounds = 5,
): { value: T; measured: number } {
  let budget = Math.max(0, firstBudget);
  let best: { value: T; measured: number } | undefined;
  const tried = new Set<number>();
  for (let r = 0; r < rounds && !tried.has(budget); r++) {
    tried.add(budget);
    const value = build(budget);
    const measured = measure(value);
    if (best === undefined || Math.abs(measured - target) < Math.abs(best.measured - target))
      best = { value, measured };
    if (Math.abs(measured - target) <= tolerance(target)) break;
    budget = Math.max(0, budget + target - measured);
  }
  return best!;
}
