// Converts a llama2.c checkpoint (karpathy/llama2.c `run.c` format) and its tokenizer.bin into a GGUF file
// of architecture `llama` with a SentencePiece-style vocabulary.
//
// Checkpoint: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
// vocab_size means the classifier is not shared), then f32 tensors in run.c's order. Matrices are stored
// [out][in] row-major, which is GGUF's [rows][cols] as well, and run.c rotates adjacent pairs — ggml's
// "normal" RoPE — so no permutation is needed.
// tokenizer.bin: int32 max_token_length, then per token: f32 score, int32 byte length, bytes. The exporter
// replaced SentencePiece's "▁" with " " and wrote BOS/EOS as "\n<s>\n" / "\n</s>\n"; both are undone here.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { GgmlType, GgufError, type GgufKv } from '../gguf/types.js';
import { writeGguf } from '../gguf/writer.js';
import { modelKv, spmVocabKv } from '../model/metadata.js';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

function readHeader(fd: number, path: string, size: number): Llama2cHeader {
  const b = Buffer.alloc(28);
  if (size < 28 || readSync(fd, b, 0, 28, 0) !== 28)
    throw new GgufError('too small for a llama2.c checkpoint', path);
  const v = Array.from({ length: 7 }, (_, i) => b.readInt32LE(i * 4));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = v;
  const h = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    sharedClassifier: vocab > 0,
  };
  const sane = (x: number, max: number) => Number.isInteger(x) && x > 0 && x <= max;
  if (
    !sane(dim, 1 << 16) ||
    !sane(hiddenDim, 1 << 18) ||
    !sane(nLayers, 1024) ||
    !sane(nHeads, 1024) ||
    !sane(nKvHeads, nHeads) ||
    !sane(h.vocabSize, 1 << 22) ||
    !sane(seqLen, 1 << 24) ||
    dim % nHeads !== 0 ||
    nHeads % nKvHeads !== 0
  ) {
    throw new GgufError(`not a llama2.c checkpoint: implausible header [${v.join(', ')}]`, path);
  }
  return h;
}

/** Sizes (in floats) of run.c's tensors, in file order. */
function layout(h: Llama2cHeader): [string, number][] {
  const headSize = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headSize;
  const L = h.nLayers;
  const parts: [string, number][] = [
    ['token_embedding', h.vocabSize * h.dim],
    ['rms_att', L * h.dim],
    ['wq', L * h.dim * h.dim],
    ['wk', L * kvDim * h.dim],
    ['wv', L * kvDim * h.dim],
    ['wo', L * h.dim * h.dim],
    ['rms_ffn', L * h.dim],
    ['w1', L * h.hiddenDim * h.dim],
    ['w2', L * h.dim * h.hiddenDim],
    ['w3', L * h.hiddenDim * h.dim],
    ['rms_final', h.dim],
    ['freq_cis', h.seqLen * headSize], // real and imaginary halves; unused (RoPE is recomputed)
  ];
  if (!h.sharedClassifier) parts.push(['wcls', h.vocabSize * h.dim]);
  return parts;
}

export interface Llama2cTokenizer {
  tokens: string[];
  scores: number[];
  types: number[];
}

export function readLlama2cTokenizer(path: string, vocabSize: number): Llama2cTokenizer {
  const b = readFileSync(path);
  let o = 4;
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (let i = 0; i < vocabSize; i++) {
    if (o + 8 > b.length) throw new GgufError(`tokenizer ends after ${i} of ${vocabSize} tokens`, path);
    const score = b.readFloatLE(o);
    const len = b.readInt32LE(o + 4);
    o += 8;
    if (len < 0 || o + len > b.length) throw new GgufError(`token ${i} has impossible length ${len}`, path);
    let text = b.toString('utf8', o, o + len);
    o += len;
    let type: number = TOKEN_TYPE.normal;
    if (i === 0) type = TOKEN_TYPE.unknown;
    else if (i === 1 || i === 2) {
      text = text.trim();
      type = TOKEN_TYPE.control;
    } else if (/^<0x[0-9A-F]{2}>$/.test(text)) type = TOKEN_TYPE.byte;
    else text = text.replaceAll(' ', '\u2581');
    tokens.push(text);
    scores.push(score);
    types.push(type);
  }
  return { tokens, scores, types };
}

export function convertLlama2c(
  checkpoint: string,
  tokenizer: string,
  out: string,
  name = 'llama2.c model',
): Llama2cHeader {
  const fd = openSync(checkpoint, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = readHeader(fd, checkpoint, size);
    const parts = layout(h);
    const floats = parts.reduce((s, [, n]) => s + n, 0);
    if (28 + floats * 4 !== size) {
      throw new GgufError(`checkpoint is ${size} bytes, the header implies ${28 + floats * 4}`, checkpoint);
    }
    const raw: Record<string, Float32Array> = {};
    let offset = 28;
    for (const [key, n] of parts) {
      const buf = new Uint8Array(n * 4);
      readSync(fd, buf, 0, buf.length, offset);
      raw[key] = new Float32Array(buf.buffer);
      offset += n * 4;
    }
    const vocab = readLlama2cTokenizer(tokenizer, h.vocabSize);
    const headSize = h.dim / h.nHeads;
    const kvDim = h.nKvHeads * headSize;
    const tensors: { name: string; dims: number[]; type: GgmlType; data: Uint8Array }[] = [];
    const add = (name: string, src: Float32Array, start: number, dims: number[]) => {
      const n = dims.reduce((a, b) => a * b, 1);
      const data = new Uint8Array(src.buffer, src.byteOffset + start * 4, n * 4);
      tensors.push({ name, dims, type: GgmlType.F32, data });
    };
    add('token_embd.weight', raw.token_embedding, 0, [h.dim, h.vocabSize]);
    for (let l = 0; l < h.nLayers; l++) {
      const p = `blk.${l}.`;
      add(`${p}attn_norm.weight`, raw.rms_att, l * h.dim, [h.dim]);
      add(`${p}attn_q.weight`, raw.wq, l * h.dim * h.dim, [h.dim, h.dim]);
      add(`${p}attn_k.weight`, raw.wk, l * kvDim * h.dim, [h.dim, kvDim]);
      add(`${p}attn_v.weight`, raw.wv, l * kvDim * h.dim, [h.dim, kvDim]);
      add(`${p}attn_output.weight`, raw.wo, l * h.dim * h.dim, [h.dim, h.dim]);
      add(`${p}ffn_norm.weight`, raw.rms_ffn, l * h.dim, [h.dim]);
      add(`${p}ffn_gate.weight`, raw.w1, l * h.hiddenDim * h.dim, [h.dim, h.hiddenDim]);
      add(`${p}ffn_down.weight`, raw.w2, l * h.dim * h.hiddenDim, [h.hiddenDim, h.dim]);
      add(`${p}ffn_up.weight`, raw.w3, l * h.hiddenDim * h.dim, [h.dim, h.hiddenDim]);
    }
    add('output_norm.weight', raw.rms_final, 0, [h.dim]);
    if (!h.sharedClassifier) add('output.weight', raw.wcls, 0, [h.dim, h.vocabSize]);

    const kv: GgufKv[] = [
      ...modelKv({
        arch: 'llama',
        name,
        contextLength: h.seqLen,
        dim: h.dim,
        nLayers: h.nLayers,
        ffnDim: h.hiddenDim,
        nHeads: h.nHeads,
        nKvHeads: h.nKvHeads,
        headDim: headSize,
        normEps: 1e-5,
        ropeBase: 10000,
        vocabSize: h.vocabSize,
      }),
      ...spmVocabKv(vocab),
    ];
    writeGguf(out, { kv, tensors });
    return h;
  } finally {
    closeSync(fd);
  }
}
