// Token sampling in llama.cpp's default order: repetition penalty → top-k → top-p → min-p → temperature →
// draw. Temperature 0 (or below) is greedy. Seeded, so a run is reproducible.

export interface SamplingOptions {
  /** 0 = greedy. Default 0. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability mass reaches p (1 = off). */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top probability (0 = off). */
  minP?: number;
  /** CTRL-style penalty (Keskar et al. 2019) on tokens seen in the last `repeatLastN` tokens (1 = off). */
  repeatPenalty?: number;
  repeatLastN?: number;
  seed?: number;
}

export function validateSampling(o: SamplingOptions): void {
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new RangeError(msg);
  };
  const t = o.temperature ?? 0;
  check(Number.isFinite(t) && t >= 0, `temperature must be >= 0, got ${o.temperature}`);
  check(
    o.topK === undefined || (Number.isInteger(o.topK) && o.topK >= 0),
    `topK must be a whole number >= 0, got ${o.topK}`,
  );
  check(o.topP === undefined || (o.topP > 0 && o.topP <= 1), `topP must be in (0, 1], got ${o.topP}`);
  check(o.minP === undefined || (o.minP >= 0 && o.minP < 1), `minP must be in [0, 1), got ${o.minP}`);
  check(
    o.repeatPenalty === undefined || o.repeatPenalty > 0,
    `repeatPenalty must be > 0, got ${o.repeatPenalty}`,
  );
  check(
    o.repeatLastN === undefined || (Number.isInteger(o.repeatLastN) && o.repeatLastN >= 0),
    `repeatLastN must be a whole number >= 0, got ${o.repeatLastN}`,
  );
}

/** xorshift128+ over two 32-bit halves is plenty for sampling; seeded through splitmix32. */
export class Rng {
  private s: Uint32Array;
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = new Uint32Array([next(), next(), next(), next()]);
  }
  /** Uniform in [0, 1). xoshiro128**. */
  next(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export class Sampler {
  private readonly rng: Rng;
  constructor(private readonly o: SamplingOptions = {}) {
    validateSampling(o);
    this.rng = new Rng(o.seed ?? 0x5eed);
  }

  /** Picks the next token; `logits` is modified (penalised) in place. */
  sample(logits: Float32Array, history: readonly number[]): number {
    const penalty = this.o.repeatPenalty ?? 1;
    if (penalty !== 1) {
      const lastN = this.o.repeatLastN ?? 64;
      const seen = new Set(history.slice(Math.max(0, history.length - lastN)));
      for (const id of seen) {
        if (id < 0 || id >= logits.length) continue;
        logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
      }
    }
    const temperature = this.o.temperature ?? 0;
    if (temperature <= 0) return argmax(logits);

    let ids = Array.from(logits.keys());
    ids.sort((a, b) => logits[b] - logits[a]);
    const topK = this.o.topK ?? 0;
    if (topK > 0 && topK < ids.length) ids = ids.slice(0, topK);
    // Probabilities at temperature 1 for the truncations, as llama.cpp does before applying temperature.
    const probs = softmax(ids.map((i) => logits[i]));
    let keep = ids.length;
    const topP = this.o.topP ?? 1;
    if (topP < 1) {
      let mass = 0;
      for (let j = 0; j < ids.length; j++) {
        mass += probs[j];
        if (mass >= topP) {
          keep = j + 1;
          break;
        }
      }
    }
    const minP = this.o.minP ?? 0;
    if (minP > 0) {
      let j = 1;
      while (j < keep && probs[j] >= minP * probs[0]) j++;
      keep = j;
    }
    ids = ids.slice(0, keep);
    const final = softmax(ids.map((i) => logits[i] / temperature));
    let r = this.rng.next();
    for (let j = 0; j < ids.length; j++) {
      r -= final[j];
      if (r < 0) return ids[j];
    }
    return ids[ids.length - 1];
  }
}

function softmax(xs: number[]): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > max) max = x;
  const e = xs.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}
