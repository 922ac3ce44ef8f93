/** Real processes for benchmarks: the service and the agent as children; their peak RSS and CPU from /proc. */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
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

export async function startServer(dataDir: string, args: string[] = []): Promise<{ url: string; proc: Child }> {
  const proc = startOutpost(['server', '--port', '0', '--data', dataDir, ...args], { OUTPOST_LOG_LEVEL: 'info' });
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

/**
 * CPU seconds the process's threads have run so far, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds: a figure of a few milliseconds a minute is below /proc/<pid>/stat's 10 ms ticks).
 */
export function cpuSecondsFine(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e9;
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

export interface AgentRig {
  dir: string;
  url: string;
  runId: string;
  spool: string;
  agent: Child;
  server: Child;
  close(): Promise<void>;
}

/** A temp project, `outpost server` over it and `outpost agent` on one run, ready to go. */
export async function startAgentRig(name: string, agentArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<AgentRig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `outpost-bench-${name}-`));
  const { url, proc: server } = await startServer(path.join(dir, 'service-data'));
  const runId = `bench-${name}`;
  const runDir = path.join(dir, '.outpost', 'runs', runId);
  fs.mkdirSync(runDir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'outputs'), { recursive: true });
  const agent = startOutpost(['agent', '--run', runId, '--dir', dir, '--server', url, ...agentArgs], env);
  // files.json is written once the first scan of outputs/ is done: the agent is watching.
  await until(() => fs.existsSync(path.join(runDir, 'files.json')), 'agent start', 60_000, 20);
  return {
    dir,
    url,
    runId,
    spool: path.join(runDir, 'metrics.jsonl'),
    agent,
    server,
    async close() {
      await stop(agent);
      await stop(server);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The line number the ack watermark has reached (0 before the first acknowledgement). */
export function ackedLine(spool: string): number {
  try {
    return (JSON.parse(fs.readFileSync(`${spool}.ack`, 'utf8')) as { line: number }).line;
  } catch {
    return 0;
  }
}
