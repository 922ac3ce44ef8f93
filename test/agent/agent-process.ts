/** The real `outpost agent` (and friends) as child processes, with settings short enough for tests. */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import net from 'net';
import fs from 'fs';
import path from 'path';
import { BIN, cleanEnv, ServerProcess, startServerProcess, tempDir } from '../service/server-process';

/** Short waits so tests are quick; the mechanisms are the same as with the defaults. */
export const FAST_CONFIG = JSON.stringify({
  agent: { fileStableMs: 150, reconcileIntervalMs: 1000, retryInitialMs: 50, retryMaxMs: 400, finalSyncGraceMs: 15000, fileStateFlushMs: 100 },
});

export function agentEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({ OUTPOST_CONFIG: FAST_CONFIG, OUTPOST_LOG_LEVEL: 'warn', ...extra });
}

export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// A test that fails midway leaves its agent running, and jest would wait for it for ever.
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill('SIGKILL');
});

export function startAgentProcess(args: string[], env: NodeJS.ProcessEnv = agentEnv()): AgentProcess {
  const child = spawn(process.execPath, [BIN, 'agent', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

/** Runs the CLI to completion. */
export function outpost(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env ?? agentEnv(), encoding: 'utf8', timeout: opts.timeout ?? 60_000 });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value. */
export async function until<T>(check: () => Promise<T> | T, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * One `outpost server` process and a temp folder for a whole test file: started before its
 * tests, stopped and removed after them. Read `.server` and `.dir` inside tests.
 */
export function serverForFile(prefix: string): { server: ServerProcess; dir: string } {
  const shared = {} as { server: ServerProcess; dir: string };
  beforeAll(async () => {
    shared.dir = tempDir(prefix);
    shared.server = await startServerProcess({ dataDir: path.join(shared.dir, 'service-data') });
  });
  afterAll(async () => {
    await shared.server?.stop();
    fs.rmSync(shared.dir, { recursive: true, force: true });
  });
  return shared;
}
