/**
 * big-file-resume: a 400 MiB file in outputs/, the agent SIGKILLed 5 times during its upload
 * (each after it has sent a pseudo-random 24-88 MiB since it started), then one more agent that
 * finishes. Figure: the bytes that reached the service's port in all, as a ratio of the file's
 * size, counted by a TCP relay in front of the service (HTTP framing included). Baseline, in the
 * same run, with the same kill points: the one-request upload (agent.uploadChunkBytes 0), which
 * starts from byte zero after each kill, as outpost did before resumable uploads.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import axios from 'axios';
import { ratio, type Benchmark } from './harness';
import { startOutpost, startServer, stop, until } from './processes';

const MiB = 1024 * 1024;
const SIZE = 400 * MiB;
const KILLS = 5;
// The same kill points for both: bytes each killed agent sends before its kill.
const KILL_AFTER = [37, 61, 24, 88, 52].map((m) => m * MiB);

/** A relay to `port` that counts the bytes clients send through it. */
async function countingRelay(port: number): Promise<{ port: number; bytes: () => number; close: () => void }> {
  let bytes = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    client.on('data', (d: Buffer) => (bytes += d.length));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, bytes: () => bytes, close: () => server.close() };
}

async function killedUpload(file: string, sha256: string, chunkBytes: number): Promise<{ bytes: number; seconds: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-resume-'));
  const { url, proc: server } = await startServer(path.join(dir, 'service-data'));
  const relay = await countingRelay(Number(new URL(url).port));
  try {
    fs.mkdirSync(path.join(dir, 'outputs'));
    fs.linkSync(file, path.join(dir, 'outputs', 'model.bin'));
    const runId = 'bench-resume';
    const env = { OUTPOST_CONFIG: JSON.stringify({ agent: { uploadExisting: true, uploadChunkBytes: chunkBytes, retryInitialMs: 50, retryMaxMs: 400 } }) };
    const args = ['agent', '--run', runId, '--dir', dir, '--server', `http://127.0.0.1:${relay.port}`];
    const t0 = performance.now();
    for (let k = 0; k < KILLS; k++) {
      const from = relay.bytes();
      const agent = startOutpost(args, env);
      await until(() => relay.bytes() - from >= KILL_AFTER[k], `agent ${k + 1} to send ${KILL_AFTER[k] / MiB} MiB`, 120_000, 1);
      await stop(agent, 'SIGKILL');
    }
    const last = startOutpost(args, env);
    await until(
      async () => {
        const run = (await axios.get(`${url}/api/v1/runs/${runId}`, { validateStatus: () => true })).data as { artifacts?: { path: string; sha256: string }[] };
        return run.artifacts?.some((a) => a.path === 'outputs/model.bin' && a.sha256 === sha256);
      },
      'the file stored',
      600_000,
      50,
    );
    const seconds = (performance.now() - t0) / 1000;
    await stop(last);
    return { bytes: relay.bytes(), seconds };
  } finally {
    relay.close();
    await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = {
  name: 'big-file-resume',
  description: 'a 400 MiB upload with the agent SIGKILLed 5 times: bytes sent in all / file size, beside the upload from zero after each kill',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-resume-file-'));
    try {
      const file = path.join(dir, 'model.bin');
      execFileSync('head', ['-c', String(SIZE), '/dev/urandom'], { stdio: ['ignore', fs.openSync(file, 'w'), 'inherit'] });
      const sha256 = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
      const resumed = await killedUpload(file, sha256, 8 * MiB);
      const fromZero = await killedUpload(file, sha256, 0);
      const r = Number((resumed.bytes / SIZE).toFixed(4));
      const b = Number((fromZero.bytes / SIZE).toFixed(4));
      return [
        {
          name: 'big-file-resume',
          unit: 'x file size',
          value: r,
          baseline: b,
          baselineLabel: 'one request per attempt, from byte zero after each kill (agent.uploadChunkBytes 0), same kill points',
          ratio: ratio(r, b),
          aim: 'value <= 1.1',
          notes: `400 MiB, 8 MiB chunks, 5 SIGKILLs after 24-88 MiB sent each; ${resumed.seconds.toFixed(1)} s to stored, against ${fromZero.seconds.toFixed(1)} s from zero`,
        },
      ];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
