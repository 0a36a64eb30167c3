// kvsieve's library API.
//
//   import { Model, lagkv } from 'kvsieve';
//   const model = await Model.load('model.gguf');
//   const ctx = model.createContext({ press: lagkv({ ratio: 4 }) });
//   for await (const t of ctx.generate('Once upon a time', { maxTokens: 64 })) process.stdout.write(t.text);
export * from './api.js';
// Node only: they write files.
export { convertLlama2c } from './convert/llama2c.js';
export { kv, kvOf, serializeGguf, writeGguf } from './gguf/writer.js';
export { type SyntheticModelSpec, writeSyntheticModel } from './model/synthetic.js';
