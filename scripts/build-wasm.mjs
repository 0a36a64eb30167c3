#!/usr/bin/env node
// Compiles assembly/ (AssemblyScript) into build/kernels.wasm (SIMD128 + threads) and
// build/kernels-relaxed.wasm (plus relaxed SIMD). The module imports the shared heap memory; it has no
// data segments and no runtime heap (stub runtime, never allocates), and its one 2 KiB lookup table sits at
// --memoryBase, inside the RESERVED low MiB of src/kernels/heap.ts.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build');
mkdirSync(out, { recursive: true });

const common = [
  join(root, 'assembly/index.ts'),
  '-O3',
  '--noAssert',
  '--runtime',
  'stub',
  '--importMemory',
  '--noExportMemory',
  '--sharedMemory',
  '--initialMemory',
  '17',
  '--maximumMemory',
  '65536',
  '--memoryBase',
  '1024',
  '--enable',
  'simd,threads',
];

for (const [file, extra] of [
  ['kernels.wasm', []],
  ['kernels-relaxed.wasm', ['--enable', 'relaxed-simd']],
  // The fused i8×i7 dot-add (VNNI's vpdpbusd); loaded only where a run-time probe finds it correct.
  ['kernels-relaxed-dot.wasm', ['--enable', 'relaxed-simd', '--use', 'KVSIEVE_DOT_ADD=1']],
]) {
  const { error, stderr } = await asc.main([...common, ...extra, '-o', join(out, file)]);
  if (error) {
    process.stderr.write(stderr.toString());
    console.error(`build-wasm: ${file}: ${error.message}`);
    process.exit(1);
  }
  console.log(`build-wasm: wrote build/${file}`);
}
