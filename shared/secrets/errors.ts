import { TerminalError } from '../errors.js';

/** A secret name that resolved to nothing. Names the secret and where it was looked up, never a value. */
export class MissingSecretError extends TerminalError {
  override name = 'MissingSecretError';
  constructor(
    readonly secretName: string,
    readonly lookedUpIn: string,
  ) {
    super(`secret "${secretName}" not found in ${lookedUpIn}`);
  }
}
