// One speed measurement, the same code under Node and in the browser (bench/web-speed-worker.ts): load the model,
// warm up, prefill `prefill` ordinary tokens into a full cache, then decode `gen` tokens greedily.
import type { Model } from '../src/api.js';

export interface SpeedOptions {
  /** A path (Node) or URL (browser). */
  model: string;
  threads: number;
  prefill: number;
  gen: number;
}

export interface Speed {
  backend: string;
  prefillTokS: number;
  decodeTokS: number;
  loadMs: number;
}

/** Ordinary (non-special) ids spread over the vocabulary, as bench/speed.ts uses. */
function promptTokens(n: number, vocab: number): number[] {
  const low = Math.min(300, Math.floor(vocab / 2));
  return Array.from({ length: n }, (_, i) => low + ((i * 7919) % (vocab - low)));
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let j = 1; j < a.length; j++) if (a[j] > a[best]) best = j;
  return best;
}

export async function measureSpeed(load: typeof Model.load, o: SpeedOptions): Promise<Speed> {
  const t = performance.now();
  const model = await load(o.model, { threads: o.threads });
  const loadMs = performance.now() - t;
  try {
    const prompt = promptTokens(o.prefill, model.config.vocabSize);
    const size = { contextSize: o.prefill + o.gen + 8 };
    // Warm-up, so that the engines' optimising WebAssembly tiers are in place before the clock runs.
    const warm = model.createContext(size);
    let w = warm.evaluate(prompt.slice(0, Math.min(128, o.prefill)));
    for (let i = 0; i < 8; i++) w = warm.evaluate([argmax(w)]);
    warm.dispose();
    const ctx = model.createContext(size);
    const t0 = performance.now();
    let logits = ctx.evaluate(prompt);
    const t1 = performance.now();
    for (let i = 0; i < o.gen; i++) logits = ctx.evaluate([argmax(logits)]);
    const t2 = performance.now();
    ctx.dispose();
    return {
      backend: model.backend.name,
      prefillTokS: (o.prefill / (t1 - t0)) * 1000,
      decodeTokS: (o.gen / (t2 - t1)) * 1000,
      loadMs,
    };
  } finally {
    await model.close();
  }
}
