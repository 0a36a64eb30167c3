// The GGUF metadata llama.cpp expects of a model file, built in one place for every writer of model files
// (the llama2.c converter, tools/train's exporter, the random-weight models of tests and benchmarks).
import { kv } from '../gguf/kv.js';
import { type GgufKv, GgufValueType } from '../gguf/types.js';
import type { Architecture } from './config.js';

export interface Hyperparameters {
  arch: Architecture;
  name: string;
  contextLength: number;
  dim: number;
  nLayers: number;
  ffnDim: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  normEps: number;
  ropeBase: number;
  vocabSize: number;
}

export function modelKv(h: Hyperparameters): GgufKv[] {
  const a = h.arch;
  return [
    kv.str('general.architecture', a),
    kv.str('general.name', h.name),
    kv.u32(`${a}.context_length`, h.contextLength),
    kv.u32(`${a}.embedding_length`, h.dim),
    kv.u32(`${a}.block_count`, h.nLayers),
    kv.u32(`${a}.feed_forward_length`, h.ffnDim),
    kv.u32(`${a}.attention.head_count`, h.nHeads),
    kv.u32(`${a}.attention.head_count_kv`, h.nKvHeads),
    kv.u32(`${a}.attention.key_length`, h.headDim),
    kv.u32(`${a}.attention.value_length`, h.headDim),
    kv.f32(`${a}.attention.layer_norm_rms_epsilon`, h.normEps),
    kv.f32(`${a}.rope.freq_base`, h.ropeBase),
    kv.u32(`${a}.rope.dimension_count`, h.headDim),
    kv.u32(`${a}.vocab_size`, h.vocabSize),
  ];
}

/** A SentencePiece-style vocabulary with <unk> = 0, <s> = 1, </s> = 2 and BOS added. */
export function spmVocabKv(v: { tokens: string[]; scores: number[]; types: number[] }): GgufKv[] {
  return [
    kv.str('tokenizer.ggml.model', 'llama'),
    kv.arr('tokenizer.ggml.tokens', GgufValueType.STRING, v.tokens),
    kv.arr('tokenizer.ggml.scores', GgufValueType.FLOAT32, v.scores),
    kv.arr('tokenizer.ggml.token_type', GgufValueType.INT32, v.types),
    kv.u32('tokenizer.ggml.unknown_token_id', 0),
    kv.u32('tokenizer.ggml.bos_token_id', 1),
    kv.u32('tokenizer.ggml.eos_token_id', 2),
    kv.bool('tokenizer.ggml.add_bos_token', true),
    kv.bool('tokenizer.ggml.add_eos_token', false),
  ];
}
