// Locates ../shared (reference data beside the repo); tests that need it skip with a clear message without it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const sharedDir = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const hasShared = existsSync(sharedDir);
export const SKIP_SHARED = 'skipped: ../shared not present';

export function sharedPath(rel: string): string {
  return `${sharedDir}${rel}`;
}
