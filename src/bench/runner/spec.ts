// Parsing of the benchmark grid's comma lists: task names with ranges, presses with options, token lengths
// with a k suffix, ratios, needle depths and modes. Errors are RangeErrors naming the option, so the CLI
// reports them as usage errors.
import { formatPressText, parsePressText, pressFromSpec } from '../../presses/index.js';

/** Query-agnostic: the press compresses the context before the question exists. Query-aware: it sees it. */
export type Mode = 'agnostic' | 'aware';

function items(option: string, raw: string): string[] {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((s) => s === '')) throw new RangeError(`--${option}: empty item in "${raw}"`);
  return parts;
}

/**
 * Task names; a numeric range at the end of a name expands, the prefix repeated or not:
 * `babilong:qa1-qa5` and `babilong:qa1-5` both give qa1..qa5, `niah_single_1-3` gives three.
 */
export function parseTasks(raw: string): string[] {
  const out: string[] = [];
  for (const item of items('task', raw)) {
    const m = /^(.*\D)(\d+)-(\D*)(\d+)$/.exec(item);
    if (m === null) {
      out.push(item);
      continue;
    }
    const [, prefix, a, again, b] = m;
    if (again !== '' && !prefix.endsWith(again))
      throw new RangeError(`--task: cannot read the range "${item}"`);
    const from = Number(a);
    const to = Number(b);
    if (to < from) throw new RangeError(`--task: the range "${item}" runs backwards`);
    for (let i = from; i <= to; i++) out.push(`${prefix}${i}`);
  }
  return [...new Set(out)];
}

/** Token counts: `512`, `1k` (= 1024), `1.5k` (= 1536). */
export function parseLengths(raw: string): number[] {
  return unique(
    items('length', raw).map((s) => {
      const m = /^(\d+(?:\.\d+)?)(k?)$/i.exec(s);
      const n = m ? Math.round(Number(m[1]) * (m[2] ? 1024 : 1)) : Number.NaN;
      if (!Number.isInteger(n) || n < 1)
        throw new RangeError(`--length: "${s}" is not a token count (e.g. 512, 2k)`);
      return n;
    }),
  );
}

export function parseRatios(raw: string): number[] {
  return unique(
    items('ratio', raw).map((s) => {
      const r = Number(s);
      if (!Number.isFinite(r) || r < 1) throw new RangeError(`--ratio: "${s}" must be a number >= 1`);
      return r;
    }),
  );
}

export function parseDepths(raw: string): number[] {
  return unique(
    items('depth', raw).map((s) => {
      const d = Number(s);
      if (!(d >= 0 && d <= 1)) throw new RangeError(`--depth: "${s}" must be in [0, 1]`);
      return d;
    }),
  );
}

export function parseModes(raw: string): Mode[] {
  if (raw === 'agnostic' || raw === 'aware') return [raw];
  if (raw === 'both') return ['agnostic', 'aware'];
  throw new RangeError(`--mode must be agnostic, aware or both, got "${raw}"`);
}

/**
 * Presses with their options: `full,lagkv:lag=64,sink=4,snapkv` is full, lagkv with two options, and snapkv
 * (an item with `=` belongs to the press before it). Each comes back in its canonical text (options in the
 * press's declared order), checked against the press at `ratio`.
 */
export function parsePresses(raw: string, ratio: number, option = 'press'): string[] {
  const texts: string[] = [];
  for (const item of items(option, raw)) {
    if (item.includes('=') && !item.includes(':')) {
      if (texts.length === 0) throw new RangeError(`--${option}: "${item}" is an option without a press`);
      const last = texts[texts.length - 1];
      texts[texts.length - 1] = `${last}${last.includes(':') ? ',' : ':'}${item}`;
    } else texts.push(item);
  }
  const out = texts.map((text) => {
    try {
      const spec = parsePressText(text);
      if (spec.name !== 'full') pressFromSpec({ ...spec, ratio });
      return formatPressText(spec);
    } catch (e) {
      throw new RangeError(`--${option}: ${(e as Error).message}`);
    }
  });
  return [...new Set(out)];
}

export function parseNames(option: string, raw: string): string[] {
  return [...new Set(items(option, raw))];
}

/** `1024` → `1k`, `1536` → `1.5k`, `500` → `500` (labels in tables and charts). */
export function formatLength(n: number): string {
  return n >= 1024 && (n * 10) % 1024 === 0 ? `${(n / 1024).toString()}k` : String(n);
}

function unique(xs: number[]): number[] {
  return [...new Set(xs)];
}
