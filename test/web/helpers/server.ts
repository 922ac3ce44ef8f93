/** A real `outpost server` child process over a temporary data folder, on a port the OS picks. */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'outpost.js');

export interface TestServer {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-web-data-'));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data', dataDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`outpost server exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    url,
    dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        // The service finishes in-flight requests first; a stuck one must not hang the suite.
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(force);
      }
      child.stderr?.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
