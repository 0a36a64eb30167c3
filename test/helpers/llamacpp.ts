// llama.cpp (through node-llama-cpp's prebuilt CPU binary) as an independent reference on the same GGUF file.
import { getLlama, type Llama, LlamaLogLevel, type Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

function instance(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error });
  return llama;
}

/** Greedy-decodes `steps` tokens after `prompt` (token ids) with llama.cpp. */
export async function llamaCppGreedy(
  modelPath: string,
  prompt: number[],
  steps: number,
  threads = 2,
): Promise<number[]> {
  const l = await instance();
  const model = await l.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: Math.max(256, prompt.length + steps + 16),
      threads,
      batchSize: 256,
    });
    try {
      const seq = context.getSequence();
      const out: number[] = [];
      for await (const t of seq.evaluate(prompt as Token[], { temperature: 0 })) {
        out.push(Number(t));
        if (out.length >= steps) break;
      }
      return out;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}
