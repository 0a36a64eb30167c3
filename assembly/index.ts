// Kernel module entry: the exports the JS backend and its workers call. All pointers are byte offsets
// into the imported shared memory; the module keeps no state of its own.
export {
  attention,
  attentionMerge,
  attentionPartialFloats,
  attentionScratchBytes,
  attentionSums,
} from './attention';
export { swiglu } from './elementwise';
export { encodeKvRows } from './kvstore';
export { actKind, matmulRows, productItems, scratchBytes } from './gemm';
export { actStride, quantizeRows } from './quant';
export { probeDotAdd } from './simd';
export { family } from './types';
