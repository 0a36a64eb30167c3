import { getLlama, LlamaCompletion } from 'node-llama-cpp';
const [path, text] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: 'never' });
const model = await llama.loadModel({ modelPath: path });
const ids = model.tokenize(text, true);
const ctx = await model.createContext({ contextSize: 512, threads: 1 });
const seq = ctx.getSequence();
const out = [];
for await (const t of seq.evaluate(ids, { temperature: 0 })) { out.push(t); if (out.length >= 5) break; }
console.log(JSON.stringify({ ids: Array.from(ids), next: out }));
process.exit(0);
