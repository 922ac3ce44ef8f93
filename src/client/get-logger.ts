/**
 * getLogger(): under `outpost run` (or beside `outpost agent`) the OUTPOST_* variables name the
 * run; without them the program is tracked on its own: a run in the project's local store
 * (or on OUTPOST_SERVER) with an agent in this process (see in-process-run.ts).
 */
import path from 'path';
import type { ClientSettings } from '../../config/client';
import { flushAtExit } from './exit-flush';
import { startInProcessRun } from './in-process-run';
import { Logger, LoggerTarget } from './logger';
import { ENV } from '../run-folder';

export interface GetLoggerOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  settings?: Partial<ClientSettings>;
}

let shared: Logger | undefined;

/** The process's logger (one per process, shared by every caller), or a new one when options are given. */
export function getLogger(opts?: GetLoggerOptions): Logger {
  if (!opts && shared) return shared;
  const env = opts?.env ?? process.env;
  const target = targetFromEnv(env) ?? startInProcessRun(env);
  const logger = new Logger(target, { ...settingsFromEnv(env), ...opts?.settings });
  flushAtExit(logger);
  if (!opts) shared = logger;
  return logger;
}

/** The run named by the environment, or undefined outside `outpost run`. */
export function targetFromEnv(env: NodeJS.ProcessEnv): LoggerTarget | undefined {
  const metricsFile = env[ENV.metricsFile];
  if (!metricsFile) return undefined;
  const spool = path.resolve(metricsFile);
  return {
    runId: env[ENV.runId] || path.basename(path.dirname(spool)),
    metricsFile: spool,
    outputsDir: path.resolve(env[ENV.outputsDir] || 'outputs'),
  };
}

/** OUTPOST_STRICT_WAIT=1 (or true/yes/on): wait() rejects on timeout even while an agent owns the run. */
export const STRICT_WAIT_ENV = ENV.strictWait;

function settingsFromEnv(env: NodeJS.ProcessEnv): Partial<ClientSettings> {
  const raw = env[STRICT_WAIT_ENV];
  if (raw === undefined) return {};
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return { strictWait: true };
  if (['', '0', 'false', 'no', 'off'].includes(v)) return { strictWait: false };
  // A training job must not die of a typo in a variable: said, and the default kept.
  process.emitWarning(`outpost: ${STRICT_WAIT_ENV}=${JSON.stringify(raw)} is not one of 1, true, yes, on, 0, false, no, off; wait() stays not strict`);
  return {};
}
