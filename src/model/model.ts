// A loaded model: config, weights in the shared heap, tokenizer, chat template and a compute backend.
import { chatTemplateFromMetadata } from '../chat/template.js';
import { Context, type ContextOptions } from '../generate/context.js';
import { type GgufFile, Metadata, parseGguf } from '../gguf/reader.js';
import { loadedBytes } from '../gguf/repack.js';
import { bufferSource } from '../gguf/source.js';
import { host, type ModelSource, type OpenOptions } from '../host/index.js';
import type { Backend } from '../kernels/backend.js';
import { Heap } from '../kernels/heap.js';
import { RefBackend } from '../kernels/ref.js';
import { createWasmBackends } from '../kernels/wasm.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { type ModelConfig, readConfig } from './config.js';
import { DEFAULT_SHARD_BYTES, planPlacement } from './placement.js';
import { type ShardBackends, Transformer } from './transformer.js';
import { type LoadProgress, loadWeights } from './weights.js';

export type BackendName = 'wasm' | 'ref';

export type { ModelSource };

export interface LoadOptions extends OpenOptions {
  /** 'wasm' (SIMD kernels on worker threads, default) or 'ref' (plain TypeScript, slow, the reference). */
  backend?: BackendName;
  /** Threads for the wasm backend (default: all cores). */
  threads?: number;
  /** Most tokens per forward call, i.e. the prefill chunk size (default 256). */
  batchSize?: number;
  onProgress?: LoadProgress;
  /**
   * Most bytes (weights plus room for their KV cache) planned into one wasm32 memory; a model past it spreads
   * its layers over several memories. Default: just under the 4 GiB a wasm32 memory addresses.
   */
  shardBytes?: number;
  /**
   * Re-encode weights whose kernels are slow, exactly, into faster types: Q5_0 → Q8_0 (the same values; 55%
   * more bytes for those tensors; single-token matmuls on them ~1.5× faster). Q4_K_M files of models whose
   * widths are not multiples of 256 (Qwen2.5-0.5B, SmolLM2) store most matrices as Q5_0. Default false.
   */
  repack?: boolean;
}

const GiB = 2 ** 30;
const fmtGiB = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

/**
 * Fails before anything is allocated when the weights cannot fit in this machine's memory. `available` is
 * what the OS says it can hand out without swapping (MemAvailable on Linux); a browser does not say.
 */
export function checkFitsInMemory(
  path: string,
  weightBytes: number,
  available = host.memory()?.available ?? Number.POSITIVE_INFINITY,
  total = host.memory()?.total ?? Number.POSITIVE_INFINITY,
): void {
  // Weights plus ~5% for activations, scratch and the runtime itself.
  const need = weightBytes * 1.05 + 128 * 2 ** 20;
  if (need > available) {
    throw new RangeError(
      `${path}: the model needs about ${fmtGiB(need)} of memory (weights ${fmtGiB(weightBytes)}), ` +
        `but only ${fmtGiB(available)} of this machine's ${fmtGiB(total)} is available`,
    );
  }
}

export class Model {
  private constructor(
    readonly path: string,
    readonly config: ModelConfig,
    readonly metadata: Metadata,
    readonly tokenizer: Tokenizer,
    readonly chatTemplate: string,
    readonly transformer: Transformer,
    /** One backend per shard (wasm32 memory); a model under 4 GiB has one. */
    readonly backends: readonly Backend[],
  ) {}

  /** The first shard's backend: the only one unless the model is past 4 GiB. */
  get backend(): Backend {
    return this.backends[0];
  }

  /** Where each part of the weights lives; a layer's KV cache goes with its weights. */
  get shards(): ShardBackends {
    return this.transformer.shards;
  }

  /**
   * Loads a GGUF model from a path (Node) or URL (browser, downloaded as a stream with onDownloadProgress), a
   * File or Blob, or the file's bytes.
   */
  static async load(source: ModelSource, opts: LoadOptions = {}): Promise<Model> {
    const threads = opts.threads ?? host.cpus();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256)
      throw new RangeError(`threads must be 1..256, got ${threads}`);
    const batch = opts.batchSize ?? 256;
    if (!Number.isInteger(batch) || batch < 1 || batch > 8192)
      throw new RangeError(`batchSize must be 1..8192, got ${batch}`);
    const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
    if (!(Number.isInteger(shardBytes) && shardBytes >= 1 << 16 && shardBytes <= DEFAULT_SHARD_BYTES))
      throw new RangeError(
        `shardBytes must be a whole number in [64 KiB, ${DEFAULT_SHARD_BYTES}], got ${shardBytes}`,
      );
    const kind = opts.backend ?? 'wasm';
    if (kind !== 'wasm' && kind !== 'ref') throw new RangeError(`unknown backend "${kind}" (wasm or ref)`);
    const file: GgufFile = await openModelFile(source, opts);
    const path = file.path;
    let backends: Backend[] = [];
    try {
      const config = readConfig(file);
      const metadata = new Metadata(file.metadata, path);
      const tokenizer = Tokenizer.fromMetadata(metadata);
      if (tokenizer.vocabSize !== config.vocabSize) {
        throw new Error(
          `${path}: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${config.vocabSize}`,
        );
      }
      const repack = opts.repack ?? false;
      const weightBytes = file.tensors.reduce((s, t) => s + loadedBytes(t, repack), 0);
      checkFitsInMemory(path, weightBytes);
      const placement = planPlacement(file, config, shardBytes, repack);
      const heaps = placement.shardWeightBytes.map((b) => new Heap(b + (64 << 20)));
      backends =
        kind === 'wasm' ? await createWasmBackends(heaps, { threads }) : heaps.map((h) => new RefBackend(h));
      const weights = loadWeights(file, config, backends, placement, opts.onProgress, repack);
      const shards: ShardBackends = {
        layers: placement.layerShard.map((s) => backends[s]),
        embedding: backends[placement.embeddingShard],
        output: backends[placement.outputShard],
      };
      const transformer = new Transformer(config, weights, shards, batch);
      const template = chatTemplateFromMetadata(metadata);
      return new Model(path, config, metadata, tokenizer, template, transformer, backends);
    } catch (e) {
      await Promise.all(backends.map((b) => b.close()));
      throw e;
    } finally {
      file.close();
    }
  }

  createContext(opts: ContextOptions = {}): Context {
    return new Context(this, opts);
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.close()));
  }
}

export const loadModel = Model.load;

async function openModelFile(source: ModelSource, opts: OpenOptions): Promise<GgufFile> {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source))
    return parseGguf(bufferSource(source), 'buffer');
  const opened = await host.openSource(source, opts);
  return parseGguf(opened.source, opened.name);
}
