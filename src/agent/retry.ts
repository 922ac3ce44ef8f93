/**
 * Retries with exponential backoff and full jitter, honouring Retry-After. The disk is the
 * buffer, so retryable failures are retried until `shouldStop` says the caller gave up.
 */
import { isAxiosError } from 'axios';
import { ApiError, toApiError } from '../http/api-client';
import { classify } from '../http/classify';
import type { AgentSettings } from '../../config/agent';

export class GaveUp extends Error {
  constructor(readonly last: ApiError) {
    super(`gave up: ${last.message}`);
  }
}

export interface RetryOptions {
  settings: Pick<AgentSettings, 'retryInitialMs' | 'retryMaxMs' | 'retryJitter'>;
  shouldStop: () => boolean;
  onRetry?: (err: ApiError, attempt: number, waitMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export function backoffMs(attempt: number, s: RetryOptions['settings'], retryAfterMs?: number): number {
  const exp = Math.min(s.retryMaxMs, s.retryInitialMs * 2 ** Math.min(attempt, 30));
  const jittered = exp * (1 - s.retryJitter) + Math.random() * exp * s.retryJitter;
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, s.retryMaxMs * 4));
}

/**
 * The agent's usual options: retry until `deadline()` (ms) passes; with `warn`, say so on the first
 * failure and every tenth after it as "<what> (<error>); retrying in <n> ms".
 */
export function untilDeadline(
  settings: RetryOptions['settings'],
  deadline: () => number,
  warn?: (message: string) => void,
  what?: string,
): RetryOptions {
  return {
    settings,
    shouldStop: () => Date.now() >= deadline(),
    onRetry: warn ? (err, attempt, wait) => attempt % 10 === 0 && warn(`${what} (${err.message}); retrying in ${Math.round(wait)} ms`) : undefined,
  };
}

/** Runs `fn` until it succeeds or fails with an error that asking again cannot fix. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (raw) {
      // Only an HTTP failure may pass if asked again; anything else is the caller's to handle.
      if (!(raw instanceof ApiError) && !isAxiosError(raw)) throw raw;
      const err = toApiError(raw);
      if (classify(err) !== 'retry') throw err;
      if (opts.shouldStop()) throw new GaveUp(err);
      const wait = backoffMs(attempt, opts.settings, err.retryAfterMs);
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait, opts.shouldStop);
    }
  }
}

/** Sleeps, waking early (every 50 ms check) once `stop` turns true. */
function defaultSleep(ms: number, stop?: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const tick = () => {
      if (Date.now() >= end || stop?.()) return resolve();
      setTimeout(tick, Math.min(50, end - Date.now()));
    };
    tick();
  });
}
