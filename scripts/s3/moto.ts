/**
 * An S3-compatible server on loopback for tests: moto's `moto_server` (Python), on PATH or in the
 * venv scripts/test.sh makes (.venv-moto). Production uses AWS S3, MinIO, Ceph RGW or another
 * S3-compatible store; moto keeps everything in memory and is gone with its process.
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import http from 'http';
import path from 'path';
import { freePort } from '../pg/cluster';

export interface MotoServer {
  endpoint: string;
  /** The AWS environment that points the SDK at this server (path-style addressing: no bucket hostnames on loopback). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export function motoCommand(root = path.join(__dirname, '..', '..')): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, 'moto_server');
    if (dir && fs.existsSync(file)) return file;
  }
  for (const base of [root, path.join(root, '..')]) {
    const venv = path.join(base, '.venv-moto', 'bin', 'moto_server');
    if (fs.existsSync(venv)) return venv;
  }
  return undefined;
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

export async function startMoto(): Promise<MotoServer> {
  const command = motoCommand();
  if (!command) throw new Error('moto_server is not installed (pip install "moto[server]", or run npm test, which installs it)');
  const port = await freePort();
  const child: ChildProcess = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await answers(`${endpoint}/`))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    endpoint,
    env: { AWS_ENDPOINT_URL_S3: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
