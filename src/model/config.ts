// Model hyper-parameters read from GGUF metadata, for the architectures kvsieve runs.
import { isSupportedTensorType, supportedTensorTypes } from '../gguf/quants.js';
import { type GgufFile, Metadata } from '../gguf/reader.js';
import { GgufError, ggmlTypeName } from '../gguf/types.js';
import { quoted } from '../text/safe.js';

export const ARCHITECTURES = ['llama', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * 'normal' rotates adjacent pairs (x[2i], x[2i+1]) (ggml's default, used by llama); 'neox' rotates
 * (x[i], x[i + d/2]) (GPT-NeoX style, used by Qwen2/Qwen3).
 */
export type RopeLayout = 'normal' | 'neox';

export interface ModelConfig {
  arch: Architecture;
  name: string;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  vocabSize: number;
  contextLength: number;
  normEps: number;
  ropeBase: number;
  /** Leading dimensions of each head that are rotated (the rest pass through). */
  ropeDim: number;
  ropeLayout: RopeLayout;
  /** Linear position scaling (`rope.scaling.type = linear`): positions are divided by this. */
  ropeLinearScale: number;
  /** Q, K, V projections carry biases (Qwen2). */
  qkvBias: boolean;
  /** Per-head RMSNorm on Q and K before RoPE (Qwen3). */
  qkNorm: boolean;
  /** No `output.weight`: the token embedding doubles as the output head. */
  tiedOutput: boolean;
}

function positive(md: Metadata, key: string, fallback?: number): number {
  const v = md.number(key, fallback);
  if (!Number.isInteger(v) || v <= 0 || v > 1 << 24)
    throw new GgufError(`metadata "${key}" = ${v} is not a sane size`);
  return v;
}

/**
 * A float the model computes with, checked to lie in [min, max] (or (min, max] with `above`): NaN, infinities,
 * a zero base or a negative epsilon load without complaint and then produce garbage, so they are refused here.
 */
function float(
  md: Metadata,
  key: string,
  fallback: number,
  range: { min?: number; above?: number; max: number; why: string },
  path: string,
): number {
  const v = md.number(key, fallback);
  const ok =
    Number.isFinite(v) &&
    (range.min === undefined || v >= range.min) &&
    (range.above === undefined || v > range.above) &&
    v <= range.max;
  if (!ok) {
    const low = range.above !== undefined ? `> ${range.above}` : `>= ${range.min}`;
    throw new GgufError(
      `metadata "${key}" = ${v} is invalid: ${range.why} (${low} and <= ${range.max})`,
      path,
    );
  }
  return v;
}

/** Tensors the forward pass reads (see weights.ts); their types must be ones we can decode. */
const MODEL_TENSOR =
  /^(token_embd|output|output_norm|rope_freqs)\.weight$|^blk\.\d+\.(attn_(q|k|v|output|norm|q_norm|k_norm)|ffn_(gate|up|down|norm))\.(weight|bias)$/;

function checkTensorTypes(file: GgufFile): void {
  for (const t of file.tensors) {
    if (MODEL_TENSOR.test(t.name) && !isSupportedTensorType(t.type)) {
      throw new GgufError(
        `tensor ${quoted(t.name)} has type ${ggmlTypeName(t.type)}, which kvsieve cannot load ` +
          `(supported: ${supportedTensorTypes().join(', ')})`,
        file.path,
      );
    }
  }
}

export function readConfig(file: GgufFile): ModelConfig {
  const md = new Metadata(file.metadata, file.path);
  const arch = md.string('general.architecture');
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new GgufError(
      `unsupported architecture ${quoted(arch)} (kvsieve runs ${ARCHITECTURES.join(', ')})`,
      file.path,
    );
  }
  const a = arch as Architecture;
  const dim = positive(md, `${a}.embedding_length`);
  const nHeads = positive(md, `${a}.attention.head_count`);
  const nKvHeads = positive(md, `${a}.attention.head_count_kv`, nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new GgufError(`head_count ${nHeads} is not a multiple of head_count_kv ${nKvHeads}`, file.path);
  }
  const headDim = positive(md, `${a}.attention.key_length`, dim / nHeads);
  if (md.number(`${a}.attention.value_length`, headDim) !== headDim) {
    throw new GgufError('attention.value_length different from key_length is not supported', file.path);
  }
  const embd = file.tensor('token_embd.weight');
  if (!embd) throw new GgufError('missing tensor "token_embd.weight"', file.path);
  const tokens = md.strings('tokenizer.ggml.tokens');
  const vocabSize = positive(md, `${a}.vocab_size`, tokens?.length ?? embd.dims[1]);
  // The vocabulary, the embedding rows and vocab_size must agree: a mismatch is a broken file, not a bug.
  if (tokens !== undefined && tokens.length !== vocabSize) {
    throw new GgufError(
      `the vocabulary has ${tokens.length} tokens (tokenizer.ggml.tokens) but ${a}.vocab_size is ${vocabSize}`,
      file.path,
    );
  }
  if (embd.dims.length === 2 && embd.dims[1] !== vocabSize) {
    throw new GgufError(
      `token_embd.weight has ${embd.dims[1]} rows but the vocabulary has ${vocabSize} tokens`,
      file.path,
    );
  }
  checkTensorTypes(file);
  const scalingType = md.string(`${a}.rope.scaling.type`, 'none');
  if (scalingType !== 'none' && scalingType !== 'linear') {
    throw new GgufError(
      `rope scaling ${quoted(scalingType)} is not supported (none, linear, or llama3 rope_freqs)`,
      file.path,
    );
  }
  const ropeDim = positive(md, `${a}.rope.dimension_count`, headDim);
  if (ropeDim > headDim || ropeDim % 2 !== 0) {
    throw new GgufError(
      `rope.dimension_count ${ropeDim} must be even and at most head dim ${headDim}`,
      file.path,
    );
  }
  return {
    arch: a,
    name: md.string('general.name', arch),
    dim,
    nLayers: positive(md, `${a}.block_count`),
    nHeads,
    nKvHeads,
    headDim,
    ffnDim: positive(md, `${a}.feed_forward_length`),
    vocabSize,
    contextLength: positive(md, `${a}.context_length`, 2048),
    normEps: float(
      md,
      `${a}.attention.layer_norm_rms_epsilon`,
      1e-5,
      {
        above: 0,
        max: 1,
        why: 'RMSNorm divides by sqrt(mean + epsilon)',
      },
      file.path,
    ),
    ropeBase: float(
      md,
      `${a}.rope.freq_base`,
      10000,
      {
        above: 1,
        max: 1e12,
        why: 'RoPE frequencies are base^(-2i/d)',
      },
      file.path,
    ),
    ropeDim,
    ropeLayout: a === 'llama' ? 'normal' : 'neox',
    ropeLinearScale:
      scalingType === 'linear'
        ? float(
            md,
            `${a}.rope.scaling.factor`,
            1,
            {
              above: 0,
              max: 1e6,
              why: 'positions are divided by it',
            },
            file.path,
          )
        : 1,
    qkvBias: file.tensor('blk.0.attn_q.bias') !== undefined,
    qkNorm: file.tensor('blk.0.attn_q_norm.weight') !== undefined,
    tiedOutput: file.tensor('output.weight') === undefined,
  };
}
