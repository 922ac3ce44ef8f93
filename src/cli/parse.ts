/** Option parsers for commander: bad values become usage errors (exit 2) that name the option. */
import { InvalidArgumentError } from 'commander';
import { settings } from '../../config';
import { idPattern, idRule } from '../protocol';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port (0-65535)`);
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number >= 1`);
  return n;
}

const RUN_ID = new RegExp(idPattern(settings.limits.maxIdChars));

/** A run id as every door takes it (limits.maxIdChars): it names URLs and folders under .outpost/runs. */
export function parseRunId(value: string): string {
  if (!RUN_ID.test(value)) throw new InvalidArgumentError(`a run id is ${idRule(settings.limits.maxIdChars)}`);
  return value;
}
