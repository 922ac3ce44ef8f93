/** The real `outpost` binary, and a project seeded through the HTTP API of a real server. */
import { execFile } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { BIN, cleanEnv } from '../service/server-process';
import { jsonRequest, rawRequest } from '../service/raw-http';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv({ OUTPOST_LOG_LEVEL: 'warn', ...opts.env }), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export const WEIGHTS = randomBytes(1.5 * 1024 * 1024);
export const LONG_POINTS = 2_500;

/** Three runs: a finished one with every kind of metric, rejected lines, a refused file and artifacts. */
export async function seedProject(url: string): Promise<void> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await jsonRequest(url, method, `/api/v1${path}`, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
    return res.json();
  };
  await call('PUT', '/runs/r-old', {
    experiment: 'mnist',
    name: 'baseline',
    status: 'completed',
    exitCode: 0,
    startTime: '2025-01-01T10:00:00.000Z',
    endTime: '2025-01-01T11:02:03.000Z',
    command: 'python train.py --lr 0.1',
    host: 'gpu-01',
    gitCommit: 'abc1234',
    gitDirty: true,
  });
  await call('PUT', '/runs/r-new', { experiment: 'cifar', name: 'wide', status: 'failed', exitCode: 3, startTime: '2025-01-02T10:00:00.000Z', endTime: '2025-01-02T10:00:05.000Z' });
  await call('PUT', '/runs/r-mid', { experiment: 'mnist', name: 'longer', status: 'killed', startTime: '2025-01-01T12:00:00.000Z', endTime: '2025-01-01T12:30:00.000Z' });
  await call('POST', '/runs/r-old/metrics', {
    stream: 'main',
    file: 'metrics.jsonl',
    lines: [
      { seq: 1, time: 1735725600, metrics: { 'simple integer value': 7 } },
      { seq: 2, time: 1735725601.25, step: 10, metrics: { 'simple float value': 3.141592 } },
      { seq: 3, time: 1735725602, metrics: { 'simple string value': 'this is a string metric' } },
      { seq: 4, time: 1735725603, metrics: { 'chart data points': [1, 3, 5, 10, 6, 4] } },
      { seq: 5, time: 1735725604, error: 'not valid JSON (Unexpected token } in JSON at position 9)' },
      { seq: 6, time: 1735725605, step: 10, metrics: { 'train/loss': 0.25, accuracy: 0.91 } },
      { seq: 7, time: 1735725606, step: 11, metrics: { 'train/loss': 0.125, note: 'has "quotes", commas' } },
    ],
  });
  const long = Array.from({ length: LONG_POINTS }, (_, i) => ({ seq: i + 1, time: 1735725700 + i, step: i, metrics: { long: i % 7 === 0 ? i * 0.5 : i } }));
  await call('POST', '/runs/r-old/metrics', { stream: 'second', file: 'other.jsonl', lines: long });
  await call('POST', '/runs/r-old/events', { kind: 'file-refused', path: 'outputs/huge.bin', message: 'outputs/huge.bin is 600 MB, over the 512 MB limit' });
  for (const [path, body] of [
    ['outputs/model/weights.bin', WEIGHTS],
    ['outputs/model/config.json', Buffer.from('{"layers": 3}\n')],
    ['outputs/log.txt', Buffer.from('hello\n')],
  ] as [string, Buffer][]) {
    const sha = createHash('sha256').update(body).digest('hex');
    const res = await rawRequest(url, { method: 'PUT', path: `/api/v1/runs/r-old/artifacts/${path}`, headers: { 'content-type': 'application/octet-stream', 'x-outpost-sha256': sha }, body });
    if (res.status !== 201) throw new Error(`upload ${path}: ${res.status} ${res.body}`);
  }
}
