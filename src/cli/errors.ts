// User mistakes end the CLI with one clear line and a non-zero exit; only genuine bugs show a stack trace.
import { ChatTemplateError } from '../chat/template.js';
import { BadInputError } from '../errors.js';
import { safeMessage } from '../text/safe.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export function isUserError(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  if (
    e instanceof UsageError ||
    e instanceof BadInputError ||
    e instanceof ChatTemplateError ||
    e instanceof RangeError
  )
    return true;
  const code = (e as NodeJS.ErrnoException).code;
  return (
    typeof code === 'string' &&
    (code.startsWith('ERR_PARSE_ARGS') || ['ENOENT', 'EACCES', 'EISDIR'].includes(code))
  );
}

export function reportAndExit(e: unknown): never {
  // Messages can carry text from a model file or a prompt: escaped and capped before they reach the terminal.
  const message = safeMessage(e instanceof Error ? e.message : String(e));
  if (isUserError(e) || process.env.KVSIEVE_DEBUG === undefined) {
    process.stderr.write(`kvsieve: ${message}\n`);
    if (!isUserError(e)) process.stderr.write('(set KVSIEVE_DEBUG=1 for a stack trace)\n');
  } else {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  }
  process.exit(isUserError(e) ? 2 : 1);
}

/**
 * A reader that went away (`kvsieve generate ... | head`) is not an error: stop quietly, as `cat` does,
 * instead of dying on an unhandled EPIPE with a stack trace.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
