// Prints, as JSON, how the project's engine tokenizes a text and its last-token logits on an exported model;
// tools/train/check_gguf.py compares that with the PyTorch checkpoint.
//   node --import tsx tools/train/check-gguf.ts models/kvsieve-demo.gguf "some text"
import { loadModel } from '../../src/model/model.js';

const [path, text] = process.argv.slice(2);
if (!path || text === undefined) throw new Error('usage: check-gguf.ts <model.gguf> <text>');
const model = await loadModel(path, { backend: 'wasm', threads: 1 });
const ids = model.tokenizer.encode(text, { addSpecial: true });
const ctx = model.createContext();
const logits = await ctx.prefill(ids);
console.log(JSON.stringify({ ids, logits: Array.from(logits ?? []) }));
ctx.dispose();
await model.close();
