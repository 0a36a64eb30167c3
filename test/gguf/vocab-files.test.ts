// Real GGUF files: llama.cpp's vocab-only models from ../shared/vocab. Each must parse, and writing its
// metadata back out must reproduce the original bytes exactly.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Metadata, openGguf } from '../../src/gguf/reader.js';
import { GgufValueType } from '../../src/gguf/types.js';
import { serializeGguf } from '../../src/gguf/writer.js';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url)); // ../shared from the repo root
const VOCAB = join(SHARED, 'vocab');

test('every shared vocab GGUF parses and re-serializes byte for byte', (t) => {
  if (!existsSync(SHARED)) {
    t.skip('skipped: ../shared not present');
    return;
  }
  const files = readdirSync(VOCAB).filter((f) => f.endsWith('.gguf'));
  assert.ok(files.length > 0, 'no vocab files found');
  for (const name of files) {
    const path = join(VOCAB, name);
    const f = openGguf(path);
    try {
      assert.ok(f.version === 2 || f.version === 3, `${name}: version ${f.version}`);
      assert.equal(f.tensors.length, 0, `${name}: vocab-only`);
      const md = new Metadata(f.metadata, path);
      assert.ok(md.string('general.architecture').length > 0, `${name}: architecture`);
      const tokens = md.strings('tokenizer.ggml.tokens');
      assert.ok(tokens && tokens.length > 100, `${name}: tokens`);
      const entry = f.kv.find((e) => e.key === 'tokenizer.ggml.tokens')!;
      assert.equal(entry.arrayType, GgufValueType.STRING);
      const again = serializeGguf({ kv: [...f.kv], tensors: [], version: f.version as 2 | 3 });
      assert.ok(Buffer.from(again).equals(readFileSync(path)), `${name}: re-serialized bytes differ`);
    } finally {
      f.close();
    }
  }
});
