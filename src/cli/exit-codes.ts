/** Exit codes of every outpost command: 0 ok, 1 not found or refused, 2 usage. */
import { ApiError } from '../http/api-client';
import { OutpostError } from '../protocol';

export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

/** A failure the user caused or can fix: printed as one line, no stack. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_REFUSED) {
    super(message);
    this.name = 'CliError';
  }
}

export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof ApiError) {
    const code = err.code ? ` (${err.code})` : '';
    return { message: `${err.message}${code}`, exitCode: err.status === 400 ? EXIT_USAGE : EXIT_REFUSED };
  }
  // Ours, raised here (a setting, the store's version): one line with its code; a usage error when a setting is wrong.
  if (err instanceof OutpostError) {
    const usage = err.code === 'OUTPOST_ERR_CONFIG' || err.code === 'OUTPOST_ERR_STARTUP' || err.status === 400;
    return { message: `${err.message} (${err.code})`, exitCode: usage ? EXIT_USAGE : EXIT_REFUSED };
  }
  return { message: (err as Error)?.stack ?? String(err), exitCode: EXIT_REFUSED };
}
