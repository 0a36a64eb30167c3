// Turns the manifest written by `python3 -m tools.train.export` into models/kvsieve-demo.gguf with the
// project's GGUF writer. Metadata follows llama.cpp's `llama` architecture and `gpt2` (byte-level BPE)
// tokenizer. Q/K are written as trained (no permutation): tools/train/model.py uses the interleaved-pairs
// ("normal") RoPE that llama.cpp applies for `llama`.
//
//   node --import tsx tools/train/export-gguf.ts /tmp/kvsieve-demo [models/kvsieve-demo.gguf] [--type f16|q8_0]
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { quantize } from '../../src/gguf/quants.js';
import { GgmlType, GgufValueType } from '../../src/gguf/types.js';
import { type GgufTensorData, kv, writeGguf } from '../../src/gguf/writer.js';
import { modelKv } from '../../src/model/metadata.js';

interface Manifest {
  config: {
    vocab_size: number;
    dim: number;
    n_layers: number;
    n_heads: number;
    n_kv_heads: number;
    ffn_dim: number;
    max_seq_len: number;
    rope_base: number;
    norm_eps: number;
  };
  tokenizer: {
    model: string;
    pre: string;
    tokens: string[];
    token_types: number[];
    merges: string[];
    bos: number;
    eos: number;
    pad: number;
  };
  train: { step: number; tokens_seen: number; elapsed_s: number };
  tensors: { name: string; shape: number[]; offset: number; count: number }[];
}

const LLAMA_FTYPE = { [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7 } as const;

function main(): void {
  const args = process.argv.slice(2);
  const typeAt = args.indexOf('--type');
  const typeName = typeAt >= 0 ? args.splice(typeAt, 2)[1] : 'f16';
  const [prefix, out = 'models/kvsieve-demo.gguf'] = args;
  if (!prefix) throw new Error('usage: export-gguf.ts <manifest prefix> [out.gguf] [--type f16|q8_0]');
  const wtype = typeName === 'q8_0' ? GgmlType.Q8_0 : typeName === 'f16' ? GgmlType.F16 : undefined;
  if (wtype === undefined) throw new Error(`--type must be f16 or q8_0, not ${typeName}`);

  const m = JSON.parse(readFileSync(`${prefix}.json`, 'utf8')) as Manifest;
  const bin = readFileSync(`${prefix}.bin`);
  const c = m.config;
  const t = m.tokenizer;
  const headDim = c.dim / c.n_heads;

  const tensors: GgufTensorData[] = m.tensors.map((e) => {
    const f32 = new Float32Array(e.count);
    new Uint8Array(f32.buffer).set(bin.subarray(e.offset, e.offset + e.count * 4));
    // Norm vectors stay F32 (as llama.cpp's converter keeps them); matrices take the chosen type.
    const type = e.shape.length === 1 ? GgmlType.F32 : wtype;
    return { name: e.name, dims: [...e.shape].reverse(), type, data: quantize(type, f32) };
  });

  mkdirSync(dirname(out), { recursive: true });
  writeGguf(out, {
    kv: [
      ...modelKv({
        arch: 'llama',
        name: 'kvsieve-demo',
        contextLength: c.max_seq_len,
        dim: c.dim,
        nLayers: c.n_layers,
        ffnDim: c.ffn_dim,
        nHeads: c.n_heads,
        nKvHeads: c.n_kv_heads,
        headDim,
        normEps: c.norm_eps,
        ropeBase: c.rope_base,
        vocabSize: c.vocab_size,
      }),
      kv.str(
        'general.description',
        'Tiny long-context Llama trained by tools/train (see models/kvsieve-demo.md)',
      ),
      kv.str('general.license', 'MIT'),
      kv.u32('general.file_type', LLAMA_FTYPE[wtype]),
      kv.u32('general.quantization_version', 2),
      kv.str('tokenizer.ggml.model', t.model),
      kv.str('tokenizer.ggml.pre', t.pre),
      kv.arr('tokenizer.ggml.tokens', GgufValueType.STRING, t.tokens),
      kv.arr('tokenizer.ggml.token_type', GgufValueType.INT32, t.token_types),
      kv.arr('tokenizer.ggml.merges', GgufValueType.STRING, t.merges),
      kv.u32('tokenizer.ggml.bos_token_id', t.bos),
      kv.u32('tokenizer.ggml.eos_token_id', t.eos),
      kv.u32('tokenizer.ggml.padding_token_id', t.pad),
      kv.bool('tokenizer.ggml.add_bos_token', true),
      kv.bool('tokenizer.ggml.add_eos_token', false),
    ],
    tensors,
  });
  const bytes = tensors.reduce((s, x) => s + x.data.length, 0);
  console.log(
    `wrote ${out}: ${tensors.length} tensors, ${(bytes / 1e6).toFixed(1)} MB of ${typeName} weights, ` +
      `step ${m.train.step}, ${m.train.tokens_seen} tokens seen`,
  );
}

main();
