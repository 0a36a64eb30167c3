import { parseArgs } from 'node:util';
import { openGguf } from '../../gguf/reader.js';
import type { GgufValue } from '../../gguf/types.js';
import { ggmlTypeName } from '../../gguf/types.js';
import { readConfig } from '../../model/config.js';
import { escapeControls, quoted, terminalSafeJson } from '../../text/safe.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../progress.js';

export const INSPECT_HELP = `kvsieve inspect FILE [--json] [--tensors]

Shows a GGUF file's metadata, its tensors (with --tensors) and the memory it needs.`;

/** A value as the text listing shows it: strings quoted, escaped and capped, arrays by their first items. */
function show(v: GgufValue): string {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const head = Array.from(v.slice(0, 8) as ArrayLike<unknown>, (x) =>
      typeof x === 'string' ? quoted(x, 80) : String(x),
    );
    return `[${head.join(', ')}${v.length > 8 ? `, … ${v.length} items` : ''}]`;
  }
  if (typeof v === 'string') return quoted(v);
  return String(v);
}

/** A name from the file (key, tensor) for the listing: escaped and capped, unquoted. */
function name(s: string): string {
  return escapeControls(s.length > 200 ? `${s.slice(0, 200)}… (${s.length} chars in all)` : s);
}

/** JSON for typed arrays (as arrays) and 64-bit integers (as strings). */
function jsonValue(_: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<unknown>);
  return v;
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
      cfgError = escapeControls((e as Error).message);
    }
    if (values.json) {
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
      // JSON escapes C0 controls itself; C1 controls and bidi overrides are escaped too, so the output is
      // safe to print to a terminal and still the same JSON value.
      process.stdout.write(`${terminalSafeJson(JSON.stringify(out, jsonValue, 2))}\n`);
      return;
    }
    const lines = [
      `${escapeControls(file.path)}: GGUF v${file.version}, ${file.tensors.length} tensors, ${formatBytes(file.size)}`,
      '',
      'metadata:',
    ];
    for (const kv of file.kv) lines.push(`  ${name(kv.key)} = ${show(kv.value)}`);
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
          `  ${name(t.name).padEnd(32)} ${ggmlTypeName(t.type).padEnd(6)} [${t.dims.join(', ')}]`.padEnd(64) +
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
