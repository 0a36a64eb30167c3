// A vocabulary that cannot be used as it stands (unsupported model, duplicate tokens, merges of unknown
// tokens, arrays of the wrong length): bad input from the model file, not a bug, so the CLI exits 2.
import { BadInputError } from '../errors.js';

export class TokenizerError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}
