// The uncompressed cache: the reference every press is compared with.
import type { KeepSets, Press } from './press.js';

export class FullPress implements Press {
  readonly name = 'full';
  compress(): KeepSets | null {
    return null;
  }
}
