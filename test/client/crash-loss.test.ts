/**
 * A logging process SIGKILLed mid-stream loses no point whose log() returned, in both loggers.
 * The writer reports each step on stdout (a synchronous write(2) to a pipe, which outlives it)
 * after its log() call returned; the test kills it while it logs, then checks the spool.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { repoRoot, tempRun, TempRun } from './client-helpers';

const KILL_AFTER = 3000; // steps reported before the SIGKILL

const pythonWriter = `
import os, outpost_logger
logger = outpost_logger.get_logger()
i = 0
while True:
    logger.log("loss", i * 0.001, step=i)
    os.write(1, b"%d\\n" % i)
    i += 1
`;

const nodeWriter = `
const fs = require('fs');
const { getLogger } = require(${JSON.stringify(path.join(repoRoot, 'dist/src/client'))});
const logger = getLogger();
for (let i = 0; ; i++) {
  logger.log('loss', i * 0.001, { step: i });
  fs.writeSync(1, i + '\\n');
}
`;

/** Starts the writer, SIGKILLs it once it reported KILL_AFTER steps; the last step it reported. */
function killMidStream(cmd: string, args: string[], run: TempRun): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: run.dir, env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length > KILL_AFTER) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // 'close': stdout is drained, so every step the writer reported before it died is in `out`.
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the writer ended by itself (${code}): ${stderr}`));
      const reported = out.split('\n').filter((l) => /^\d+$/.test(l));
      resolve(Number(reported[reported.length - 1]));
    });
  });
}

/** The steps of the spool's complete lines (a last line cut by the kill, its log() not returned, is left out). */
function stepsInSpool(file: string): number[] {
  const text = fs.readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { step: number }).step);
}

test.each([
  ['Python', 'python3', (run: TempRun) => ['-c', pythonWriter]],
  ['TypeScript', process.execPath, (run: TempRun) => {
    const script = path.join(run.dir, 'writer.js');
    fs.writeFileSync(script, nodeWriter);
    return [script];
  }],
])('the %s logger SIGKILLed mid-stream: every point whose log() returned is in the spool, once, in order', async (_lang, cmd, args) => {
  const run = tempRun();
  const last = await killMidStream(cmd, args(run), run);
  expect(last).toBeGreaterThanOrEqual(KILL_AFTER - 1);
  const steps = stepsInSpool(run.metricsFile);
  // Every reported step is there (the one being logged when the kill came may be there too).
  expect(steps.slice(0, last + 1)).toEqual([...Array(last + 1).keys()]);
  expect(steps.length - (last + 1)).toBeLessThanOrEqual(1);
});

describe('signals (TypeScript): caught only while lines are held', () => {
  const client = JSON.stringify(path.join(repoRoot, 'dist/src/client'));

  test('a program busy in a synchronous loop still stops at once on SIGTERM and SIGINT', async () => {
    const run = tempRun();
    const script = path.join(run.dir, 'busy.js');
    fs.writeFileSync(script, `
const { getLogger } = require(${client});
getLogger().log('a', 1);
process.stdout.write('ready\\n');
const end = Date.now() + 20000;
while (Date.now() < end) {}   // a training step that never yields to the event loop
process.stdout.write('survived\\n');
`);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = spawn(process.execPath, [script], { cwd: run.dir, env: run.env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out === 'ready\n') child.kill(signal);
      });
      expect(await ended).toBe(signal);
      expect(out).toBe('ready\n');
    }
    expect(stepsInSpool(run.metricsFile)).toHaveLength(2);
  });

  test('SIGTERM while lines are held writes them, then ends the process as SIGTERM does', async () => {
    const run = tempRun();
    fs.mkdirSync(run.metricsFile); // open(2) for appending fails with EISDIR
    const script = path.join(run.dir, 'held.js');
    fs.writeFileSync(script, `
const fs = require('fs');
const { getLogger } = require(${client});
const logger = getLogger();
for (let i = 0; i < 5; i++) logger.log('held', i, { step: i });
fs.rmdirSync(logger.metricsFile);
process.kill(process.pid, 'SIGTERM');
setTimeout(() => process.stdout.write('survived\\n'), 5000);
`);
    // No retry by the timer: only the signal's handler writes them.
    const env = { ...run.env, OUTPOST_CONFIG: JSON.stringify({ client: { flushIntervalMs: 600_000 } }) };
    const child = spawn(process.execPath, [script], { cwd: run.dir, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
    expect([signal, out]).toEqual(['SIGTERM', '']);
    expect(stepsInSpool(run.metricsFile)).toEqual([0, 1, 2, 3, 4]);
  });
});
