import { parseArgs } from 'node:util';
import { openGguf } from '../../gguf/reader.js';
import type { GgufValue } from '../../gguf/types.js';
import { ggmlTypeName } from '../../gguf/types.js';
import { readConfig } from '../../model/config.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../progress.js';

export const INSPECT_HELP = `kvsieve inspect FILE [--json] [--tensors]

Shows a GGUF file's metadata, its tensors (with --tensors) and the memory it needs.`;

function show(v: GgufValue): string {
  if (Array.isArray(v)) {
    const head = v.slice(0, 8).map((x) => JSON.stringify(typeof x === 'bigint' ? x.toString() : x));
    return `[${head.join(', ')}${v.length > 8 ? `, … ${v.length} items` : ''}]`;
  }
  if (typeof v === 'string') return JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  return String(v);
}

export async function inspectCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, tensors: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError('inspect takes one GGUF file');
  const file = openGguf(positionals[0]);
  try {
    const weights = file.tensors.reduce((s, t) => s + t.bytes, 0);
    let memory: Record<string, number> | undefined;
    let cfgError: string | undefined;
    try {
      const c = readConfig(file);
      const kvPerToken = 2 * c.nLayers * c.nKvHeads * c.headDim * 4 + c.nLayers * c.nKvHeads * 4;
      memory = {
        weightBytes: weights,
        kvBytesPerToken: kvPerToken,
        kvBytesAtContextLength: kvPerToken * c.contextLength,
        contextLength: c.contextLength,
      };
    } catch (e) {
      cfgError = (e as Error).message;
    }
    if (values.json) {
      const replacer = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
      const out = {
        path: file.path,
        version: file.version,
        metadata: Object.fromEntries(file.metadata),
        tensors: file.tensors.map((t) => ({
          name: t.name,
          type: ggmlTypeName(t.type),
          dims: t.dims,
          bytes: t.bytes,
        })),
        memory,
        runnable: cfgError === undefined,
        problem: cfgError,
      };
      process.stdout.write(`${JSON.stringify(out, replacer, 2)}\n`);
      return;
    }
    const lines = [
      `${file.path}: GGUF v${file.version}, ${file.tensors.length} tensors, ${formatBytes(file.size)}`,
      '',
      'metadata:',
    ];
    for (const kv of file.kv) lines.push(`  ${kv.key} = ${show(kv.value)}`);
    const byType = new Map<string, number>();
    for (const t of file.tensors)
      byType.set(ggmlTypeName(t.type), (byType.get(ggmlTypeName(t.type)) ?? 0) + t.bytes);
    lines.push(
      '',
      `tensor types: ${[...byType].map(([k, v]) => `${k} ${formatBytes(v)}`).join(', ') || 'none'}`,
    );
    if (values.tensors) {
      lines.push('', 'tensors:');
      for (const t of file.tensors) {
        lines.push(
          `  ${t.name.padEnd(32)} ${ggmlTypeName(t.type).padEnd(6)} [${t.dims.join(', ')}]`.padEnd(64) +
            formatBytes(t.bytes),
        );
      }
    }
    lines.push('');
    if (memory) {
      lines.push(
        `memory: weights ${formatBytes(memory.weightBytes)}, KV cache ${formatBytes(memory.kvBytesPerToken)}/token ` +
          `(${formatBytes(memory.kvBytesAtContextLength)} at the full ${memory.contextLength}-token context, before compression)`,
      );
    } else lines.push(`not runnable by kvsieve: ${cfgError}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    file.close();
  }
}
