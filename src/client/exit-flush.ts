/**
 * log() appends each line itself; the lines held because the spool could not be written (a full
 * disk) get a last try however the process ends: normal exit, process.exit(), an uncaught
 * exception (Node emits 'exit' for all three), or SIGINT/SIGTERM (written, then the signal's
 * default action, unless the program handles the signal itself).
 *
 * The signals are caught only once a logger holds lines: a listener makes Node leave them to the
 * event loop, so a program busy in a synchronous loop would no longer stop on Ctrl-C or SIGTERM.
 */
import fs from 'fs';
import { isMainThread } from 'worker_threads';

interface Flushable {
  flush(): void;
  readonly metricsFile: string;
}

const loggers = new Set<Flushable>();
let installed = false;
let signalsCaught = false;

export function flushAtExit(logger: Flushable): void {
  loggers.add(logger);
  if (installed) return;
  installed = true;
  process.on('exit', flushAllLoggers);
}

/** SIGINT and SIGTERM write the held lines first, from now on (called when a logger first holds some). */
export function flushOnSignals(): void {
  // Signals reach the main thread only.
  if (signalsCaught || !isMainThread) return;
  signalsCaught = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      flushAllLoggers();
      // Someone else handles it: leave the decision to them.
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Appends every logger's held lines now (also used before the in-process agent's final sync). */
export function flushAllLoggers(): void {
  for (const logger of loggers) {
    try {
      logger.flush();
    } catch (err) {
      // Nothing can be retried at exit; say what is lost.
      fs.writeSync(2, `outpost: could not append buffered metrics to ${logger.metricsFile}: ${(err as Error).message}\n`);
    }
  }
}
