// The inverse of export-gguf.ts: turns a shipped kvsieve-demo GGUF back into the manifest + f32 .bin that
// `python3 -m tools.train.import_ckpt` makes a training checkpoint of. Training checkpoints live outside the
// repo (~/.cache/kvsieve/train), so when a machine is lost the committed GGUF is the one copy of the weights
// that survives; this lets a later run continue from it (F16-rounded weights, fresh optimizer state).
//
//   node --import tsx tools/train/import-gguf.ts models/kvsieve-demo.gguf /tmp/kvsieve-demo-in
import { writeFileSync } from 'node:fs';
import { dequantize } from '../../src/gguf/quants.js';
import { Metadata, openGguf } from '../../src/gguf/reader.js';

function main(): void {
  const [path, prefix] = process.argv.slice(2);
  if (!path || !prefix) throw new Error('usage: import-gguf.ts <model.gguf> <manifest prefix>');
  const file = openGguf(path);
  const md = new Metadata(file.metadata, path);
  if (md.string('general.architecture') !== 'llama' || md.string('tokenizer.ggml.model') !== 'gpt2')
    throw new Error(`${path}: not a tools/train model (needs arch llama and a gpt2 tokenizer)`);
  const tokens = md.strings('tokenizer.ggml.tokens') ?? [];
  const config = {
    vocab_size: tokens.length,
    dim: md.number('llama.embedding_length'),
    n_layers: md.number('llama.block_count'),
    n_heads: md.number('llama.attention.head_count'),
    n_kv_heads: md.number('llama.attention.head_count_kv'),
    ffn_dim: md.number('llama.feed_forward_length'),
    max_seq_len: md.number('llama.context_length'),
    rope_base: md.number('llama.rope.freq_base'),
    norm_eps: md.number('llama.attention.layer_norm_rms_epsilon'),
  };

  const parts: Buffer[] = [];
  const tensors: { name: string; shape: number[]; offset: number; count: number }[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    const f32 = dequantize(t.type, file.readTensor(t), t.elements);
    tensors.push({ name: t.name, shape: [...t.dims].reverse(), offset, count: t.elements });
    parts.push(Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
    offset += f32.byteLength;
  }
  file.close();
  writeFileSync(`${prefix}.bin`, Buffer.concat(parts));
  const manifest = {
    config,
    tokenizer: { tokens, merges: md.strings('tokenizer.ggml.merges') ?? [] },
    tensors,
  };
  writeFileSync(`${prefix}.json`, JSON.stringify(manifest));
  console.log(
    `wrote ${prefix}.json and ${prefix}.bin: ${tensors.length} tensors, ${(offset / 1e6).toFixed(1)} MB f32`,
  );
}

main();
