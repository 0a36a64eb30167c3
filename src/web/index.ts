// kvsieve's library API in a browser (build/web/kvsieve.js): the same API as under Node. Model.load takes a URL
// (streamed, with onDownloadProgress), a File or Blob, or an ArrayBuffer. The page must be cross-origin isolated
// (COOP same-origin, COEP require-corp) for the kernel threads to share memory, and the engine should run in a
// Worker: there the kernel pool may block in Atomics.wait and Files are read slice by slice.
//
//   import { Model, lagkv } from './kvsieve.js';
//   const model = await Model.load('models/kvsieve-demo.gguf', { onDownloadProgress: (n, total) => ... });
//   const ctx = model.createContext({ press: lagkv({ ratio: 4 }) });
//   for await (const t of ctx.generate('Once upon a time', { maxTokens: 64 })) show(t.text);
export * from '../api.js';
