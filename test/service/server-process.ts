/** The real `outpost server` as a child process, for tests where process behaviour matters. */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
export const BIN = path.join(REPO, 'bin', 'outpost.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** Resolves when stderr shows `pattern`. */
  waitForLog(pattern: RegExp): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (or `signal`) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServerProcessOptions {
  dataDir: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
}

/** Environment without the caller's outpost settings, so tests see only what they set. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPOST_LOG_LEVEL: 'info', ...extra };
  for (const key of ['OUTPOST_TOKEN', 'OUTPOST_SERVER', 'OUTPOST_CONFIG']) if (!(key in extra)) delete env[key];
  return env;
}

export function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, 'server', '--port', '0', '--data', opts.dataDir, ...(opts.args ?? [])], {
    env: cleanEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const w of waiters.filter((x) => x.pattern.test(err))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitForLog = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(err)) return resolve();
      waiters.push({ pattern, resolve });
      exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before logging ${pattern}:\n${err}`)));
    });
  return waitForLog(/listening on (http:\/\/\S+)/).then(() => ({
    url: /listening on (http:\/\/\S+)/.exec(err)![1],
    child,
    stderr: () => err,
    waitForLog,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  }));
}

export function tempDir(prefix = 'outpost-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
