// The platform kvsieve runs on. This module is the seam between the engine and the platform: under Node it is
// Node's host; the web build (src/bundle/web.ts) resolves this import of ./node.js to ./browser.ts instead.
export type { Host, KernelBuild, KernelThread, ModelSource, OpenOptions } from './host.js';
export { host } from './node.js';
