export { Metadata, openGguf } from './gguf/reader.js';
export * from './gguf/types.js';
