// llama.cpp (node-llama-cpp) as the benchmarks' peer: CPU only, the prebuilt binary, no downloads, errors
// only in the log; a context with flash attention (its best CPU setting) and the cache stored as asked.
import type { LlamaContext, LlamaModel } from 'node-llama-cpp';

export interface LlamaCppRun {
  model: LlamaModel;
  context: LlamaContext;
  /** Seconds spent loading the model (the context's allocation not included). */
  loadS: number;
}

export async function openLlamaCpp(
  path: string,
  o: { contextSize: number; threads: number; cacheType?: 'f16' | 'q8_0'; batchSize?: number },
): Promise<LlamaCppRun> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const loadS = (performance.now() - t0) / 1000;
  const type = o.cacheType === undefined ? undefined : (o.cacheType.toUpperCase() as 'F16' | 'Q8_0');
  const context = await model.createContext({
    contextSize: o.contextSize,
    threads: o.threads,
    flashAttention: true,
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(type !== undefined ? { experimentalKvCacheKeyType: type, experimentalKvCacheValueType: type } : {}),
  });
  return { model, context, loadS };
}
