// User mistakes end the CLI with one clear line and a non-zero exit; only genuine bugs show a stack trace.
import { GgufError } from '../gguf/types.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export function isUserError(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  if (e instanceof UsageError || e instanceof GgufError || e instanceof RangeError) return true;
  const code = (e as NodeJS.ErrnoException).code;
  return (
    typeof code === 'string' &&
    (code.startsWith('ERR_PARSE_ARGS') || ['ENOENT', 'EACCES', 'EISDIR'].includes(code))
  );
}

export function reportAndExit(e: unknown): never {
  if (isUserError(e) || process.env.KVSIEVE_DEBUG === undefined) {
    process.stderr.write(`kvsieve: ${e instanceof Error ? e.message : String(e)}\n`);
    if (!isUserError(e)) process.stderr.write('(set KVSIEVE_DEBUG=1 for a stack trace)\n');
  } else {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  }
  process.exit(isUserError(e) ? 2 : 1);
}
