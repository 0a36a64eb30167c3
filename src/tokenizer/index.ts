export { type DecodeOptions, type EncodeOptions, type StreamDecoder, Tokenizer } from './tokenizer.js';
