// Random-weight models of every supported architecture (GQA/MHA, tied/untied, QKV bias, QK-norm), small enough
// for the test suite: the shapes the engine is checked on against the reference and llama.cpp.
import type { SyntheticModelSpec } from '../../src/model/synthetic.js';

export const ARCH_SHAPES: Record<string, Omit<SyntheticModelSpec, 'type' | 'seed'>> = {
  'llama GQA untied': {
    arch: 'llama',
    dim: 256,
    nLayers: 2,
    nHeads: 8,
    nKvHeads: 2,
    ffnDim: 512,
    vocabSize: 512,
    contextLength: 512,
    tiedOutput: false,
  },
  'llama MHA tied': {
    arch: 'llama',
    dim: 256,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 4,
    ffnDim: 768,
    vocabSize: 384,
    contextLength: 512,
    tiedOutput: true,
  },
  'qwen2 QKV bias': {
    arch: 'qwen2',
    dim: 256,
    nLayers: 2,
    nHeads: 8,
    nKvHeads: 2,
    ffnDim: 512,
    vocabSize: 512,
    contextLength: 512,
    tiedOutput: true,
    ropeBase: 1e6,
  },
  'qwen3 QK-norm': {
    arch: 'qwen3',
    dim: 256,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 128,
    ffnDim: 512,
    vocabSize: 512,
    contextLength: 512,
    tiedOutput: false,
    ropeBase: 1e6,
  },
};
