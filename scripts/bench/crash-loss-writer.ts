/**
 * The Node writer of the crash-loss benchmark: one point a millisecond, from timers as a Node
 * program runs, until it is SIGKILLed. After each call has returned it writes the step to stdout
 * (synchronously, to a pipe, which outlives the process). argv: "logger" (outpost's logger) or
 * "raw" (a JSON line by hand, fs.writeSync); the spool is OUTPOST_METRICS_FILE.
 */
import fs from 'fs';
import { performance } from 'perf_hooks';
import { getLogger } from '../../src/client';

const spool = process.env.OUTPOST_METRICS_FILE!;
let log: (name: string, value: number, step: number) => void;
if (process.argv[2] === 'logger') {
  const logger = getLogger();
  log = (name, value, step) => logger.log(name, value, { step });
} else {
  const fd = fs.openSync(spool, 'a');
  log = (name, value, step) => fs.writeSync(fd, `${JSON.stringify({ name, value, step, time: Date.now() / 1000 })}\n`);
}

const start = performance.now();
let i = 0;
function tick(): void {
  // Timers fire late: catch up, so the rate stays one point a millisecond.
  while (performance.now() >= start + i) {
    log('loss', i * 0.001, i);
    fs.writeSync(1, `${i}\n`);
    i++;
  }
  setTimeout(tick, Math.max(0, start + i - performance.now()));
}
tick();
