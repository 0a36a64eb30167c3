// A loaded model: config, weights in the shared heap, tokenizer, chat template and a compute backend.
import { availableParallelism } from 'node:os';
import { chatTemplateFromMetadata } from '../chat/template.js';
import { Context, type ContextOptions } from '../generate/context.js';
import { type GgufFile, Metadata, openGguf } from '../gguf/reader.js';
import type { Backend } from '../kernels/backend.js';
import { Heap } from '../kernels/heap.js';
import { RefBackend } from '../kernels/ref.js';
import { createWasmBackend } from '../kernels/wasm.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { type ModelConfig, readConfig } from './config.js';
import { Transformer } from './transformer.js';
import { type LoadProgress, loadWeights } from './weights.js';

export type BackendName = 'wasm' | 'ref';

export interface LoadOptions {
  /** 'wasm' (SIMD kernels on worker threads, default) or 'ref' (plain TypeScript, slow, the reference). */
  backend?: BackendName;
  /** Threads for the wasm backend (default: all cores). */
  threads?: number;
  /** Most tokens per forward call, i.e. the prefill chunk size (default 256). */
  batchSize?: number;
  onProgress?: LoadProgress;
}

export class Model {
  private constructor(
    readonly path: string,
    readonly config: ModelConfig,
    readonly metadata: Metadata,
    readonly tokenizer: Tokenizer,
    readonly chatTemplate: string,
    readonly transformer: Transformer,
    readonly backend: Backend,
  ) {}

  static async load(path: string, opts: LoadOptions = {}): Promise<Model> {
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256)
      throw new RangeError(`threads must be 1..256, got ${threads}`);
    const batch = opts.batchSize ?? 256;
    if (!Number.isInteger(batch) || batch < 1 || batch > 8192)
      throw new RangeError(`batchSize must be 1..8192, got ${batch}`);
    const file: GgufFile = openGguf(path);
    let backend: Backend | undefined;
    try {
      const config = readConfig(file);
      const metadata = new Metadata(file.metadata, path);
      const tokenizer = Tokenizer.fromMetadata(metadata);
      if (tokenizer.vocabSize !== config.vocabSize) {
        throw new Error(
          `${path}: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${config.vocabSize}`,
        );
      }
      const weightBytes = file.tensors.reduce((s, t) => s + t.bytes, 0);
      const heap = new Heap(weightBytes + (64 << 20));
      const kind = opts.backend ?? 'wasm';
      if (kind !== 'wasm' && kind !== 'ref') throw new RangeError(`unknown backend "${kind}" (wasm or ref)`);
      const b: Backend = kind === 'wasm' ? await createWasmBackend(heap, { threads }) : new RefBackend(heap);
      backend = b;
      const weights = loadWeights(file, config, b, opts.onProgress);
      const transformer = new Transformer(config, weights, b, batch);
      return new Model(path, config, metadata, tokenizer, chatTemplateFromMetadata(metadata), transformer, b);
    } catch (e) {
      await backend?.close();
      throw e;
    } finally {
      file.close();
    }
  }

  createContext(opts: ContextOptions = {}): Context {
    return new Context(this, opts);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

export const loadModel = Model.load;
