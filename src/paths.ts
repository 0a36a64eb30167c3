// Locations inside the installed package (the same from src/ under tsx and from dist/ when compiled).
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
/** The embedded default model the repository ships (see models/kvsieve-demo.md). */
export const defaultModelPath = fileURLToPath(new URL('../models/kvsieve-demo.gguf', import.meta.url));
