/** Real processes for benchmarks: the service and the agent as children; their peak RSS and CPU from /proc. */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import path from 'path';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'outpost.js');

export interface Child {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function startOutpost(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, OUTPOST_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function startServer(dataDir: string): Promise<{ url: string; proc: Child }> {
  const proc = startOutpost(['server', '--port', '0', '--data', dataDir], { OUTPOST_LOG_LEVEL: 'info' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(proc.output());
    if (m) return { url: m[1], proc };
    if (Date.now() > deadline) throw new Error(`server did not start:\n${proc.output()}`);
    await sleep(20);
  }
}

export async function stop(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.child.exitCode === null) c.child.kill(signal);
  await c.exited;
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 600_000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
