// Scratch files for the GGUF tests, removed when the process exits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

/** A fresh path in this process's scratch directory. */
export function tmpPath(name: string): string {
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), 'kvsieve-gguf-'));
    dir = d;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return join(dir, name);
}

let counter = 0;

/** Writes bytes to a new scratch file and returns its path. */
export function tmpFile(bytes: Uint8Array): string {
  const p = tmpPath(`f${counter++}.gguf`);
  writeFileSync(p, bytes);
  return p;
}
