// A model file's identity for resume keys: its size and hashes of its first and last MiB (the GGUF header with
// its metadata, and the tail of the last tensor). Cheap on multi-GiB files, unchanged by copying or touching,
// and different for a retrained or requantised file of the same name.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const SPAN = 1 << 20;

export function modelIdentity(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = createHash('sha256').update(String(size));
    const buf = Buffer.alloc(Math.min(SPAN, size));
    for (const at of size > SPAN ? [0, size - SPAN] : [0]) {
      const n = readSync(fd, buf, 0, buf.length, at);
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex').slice(0, 16);
  } finally {
    closeSync(fd);
  }
}
