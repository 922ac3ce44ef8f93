/**
 * big-file: one 512 MiB file written into outputs/; seconds until the service has it (hash
 * checked), beside `cp` of the same file in the same run, `cp` + fsync, and a bare HTTP PUT of
 * it; and the agent's peak RSS.
 */
import { execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import fs from 'fs';
import http from 'http';
import path from 'path';
import axios from 'axios';
import { ratio, type Benchmark } from './harness';
import { peakRssMiB, startAgentRig, until } from './processes';

const SIZE = 512 * 1024 * 1024;

function medianOf3(f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    f();
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[1];
}

/** Seconds to PUT `file` to a Node HTTP server in another process that reads and drops the bytes. */
async function bareHttpPut(file: string): Promise<number> {
  const server = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'PUT', headers: { 'content-length': fs.statSync(file).size } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
    });
    return (performance.now() - t0) / 1000;
  } finally {
    server.kill();
  }
}

const SINK = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => s.end()); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

export const benchmark: Benchmark = {
  name: 'big-file',
  description: 'one 512 MiB file in outputs/ until stored, and the agent peak RSS',
  async run() {
    const rig = await startAgentRig('big');
    const { dir, url, runId, agent } = rig;
    try {
      // Distinct 1 MiB blocks, so nothing downstream can shortcut identical data.
      const file = path.join(dir, 'outputs', 'model.bin');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const hash = createHash('sha256');
      const fd = fs.openSync(file, 'w');
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < SIZE / block.length; i++) {
        block.writeUInt32LE(i, 0);
        block.fill(i & 0xff, 4);
        fs.writeSync(fd, block);
        hash.update(block);
      }
      fs.closeSync(fd);
      const sha256 = hash.digest('hex');
      const t0 = performance.now();
      await until(
        async () => {
          const run = (await axios.get(`${url}/api/v1/runs/${runId}`)).data as { artifacts: { path: string; sha256: string }[] };
          return run.artifacts.some((a) => a.path === 'outputs/model.bin' && a.sha256 === sha256);
        },
        'the big file stored',
        600_000,
        50,
      );
      const seconds = (performance.now() - t0) / 1000;
      const rss = peakRssMiB(agent.child.pid!);

      // cp's time swings with the page cache's writeback: the median of three. cp alone leaves the
      // copy in the page cache; the store fsyncs before it answers, so cp + fsync is the copy with
      // the same durability. And the bare HTTP path: the bytes PUT to a Node server that drops them.
      const cpSeconds = medianOf3(() => execFileSync('cp', [file, path.join(dir, 'copy.bin')]));
      const durableSeconds = medianOf3(() => execFileSync('sh', ['-c', 'cp "$1" "$2" && sync "$2"', 'sh', file, path.join(dir, 'copy.bin')]));
      fs.rmSync(path.join(dir, 'copy.bin'), { force: true });
      const httpSeconds = await bareHttpPut(file);
      return [
        {
          name: 'big-file',
          unit: 's',
          value: seconds,
          baseline: cpSeconds,
          baselineLabel: 'cp of the same file, median of 3',
          ratio: ratio(seconds, cpSeconds),
          aim: 'ratio <= 3',
          notes: `includes the ${300} ms stability wait; 512 MiB`,
        },
        {
          name: 'big-file-vs-durable-cp',
          unit: 's',
          value: seconds,
          baseline: durableSeconds,
          baselineLabel: 'cp, then fsync of the copy (the durability the store gives), median of 3',
          ratio: ratio(seconds, durableSeconds),
        },
        {
          name: 'big-file-vs-bare-http',
          unit: 's',
          value: seconds,
          baseline: httpSeconds,
          baselineLabel: 'the file PUT over loopback to a Node server that drops it (no hash, no disk)',
          ratio: ratio(seconds, httpSeconds),
        },
        { name: 'big-file-agent-peak-rss', unit: 'MiB', value: rss, baseline: 150, baselineLabel: 'the 150 MB aim', ratio: ratio(rss, 150), aim: 'value < 150' },
      ];
    } finally {
      await rig.close();
    }
  },
};
