// Errors caused by what the user gave us (a malformed or unsupported model file, a bad vocabulary, a wrong
// option), as opposed to bugs. The CLI reports them in one line and exits 2; the server answers 400.
import { safeMessage } from './text/safe.js';

export class BadInputError extends Error {
  constructor(message: string) {
    // File-derived text inside the message is escaped and capped here, whatever the caller quoted.
    super(safeMessage(message));
    this.name = 'BadInputError';
  }
}

/** What went wrong opening or reading a file, in words ("no such file", "is a directory") instead of errno. */
export function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}
