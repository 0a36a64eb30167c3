// Model.load takes a path, the file's bytes, or a Blob (what a browser hands over for a picked file): the
// reader parses all three through the same byte-source seam, and the model computes the same tokens from each.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openGguf, parseGguf } from '../../src/gguf/reader.js';
import { bufferSource } from '../../src/gguf/source.js';
import { Model } from '../../src/model/model.js';
import { defaultModelPath } from '../../src/paths.js';

const PROMPT = 'The pass key is 4711. Remember it. What is the pass key? The pass key is';

async function greedy(source: Parameters<typeof Model.load>[0]): Promise<{ ids: number[]; path: string }> {
  const model = await Model.load(source, { threads: 1 });
  try {
    const ctx = model.createContext();
    const ids: number[] = [];
    for await (const t of ctx.generate(PROMPT, { maxTokens: 6, temperature: 0 })) ids.push(t.id);
    return { ids, path: model.path };
  } finally {
    await model.close();
  }
}

test('a path, its bytes and a Blob of them load the same model', async () => {
  const bytes = readFileSync(defaultModelPath);
  const fromPath = await greedy(defaultModelPath);
  assert.equal(fromPath.ids.length, 6);
  const fromBytes = await greedy(new Uint8Array(bytes));
  const fromBuffer = await greedy(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const fromBlob = await greedy(new Blob([bytes]));
  assert.deepEqual(fromBytes.ids, fromPath.ids);
  assert.deepEqual(fromBuffer.ids, fromPath.ids);
  assert.deepEqual(fromBlob.ids, fromPath.ids);
  assert.equal(fromPath.path, defaultModelPath);
  assert.equal(fromBytes.path, 'buffer');
});

test('the reader gives the same header from a file descriptor and from memory', () => {
  const file = openGguf(defaultModelPath);
  const mem = parseGguf(bufferSource(readFileSync(defaultModelPath)), 'mem');
  try {
    assert.deepEqual(mem.kv, file.kv);
    assert.deepEqual(mem.tensors, file.tensors);
    const t = file.tensors[file.tensors.length - 1];
    assert.deepEqual(mem.readTensor(t), file.readTensor(t));
  } finally {
    file.close();
    mem.close();
  }
});

test('bytes that are not GGUF are refused by name, as a file would be', async () => {
  await assert.rejects(
    Model.load(new TextEncoder().encode('hello, this is a text file, not a model'), { threads: 1 }),
    /^GgufError: buffer: not a GGUF file: bad magic "hell", expected "GGUF"/,
  );
});
