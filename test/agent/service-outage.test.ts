/** The service stops mid-run and comes back: the spool and outputs/ are the buffer; everything arrives. */
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import type { RunInfo } from '../../src/protocol';
import { startServerProcess, tempDir } from '../service/server-process';
import { freePort, sleep, startAgentProcess, until } from './agent-process';

test('the service is stopped mid-run for a while and started again: every line and file arrives', async () => {
  const dir = tempDir('outpost-outage-');
  const dataDir = path.join(dir, 'service-data');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let server = await startServerProcess({ dataDir, args: ['--port', String(port)] });
  const runId = 'outage';
  const spool = path.join(dir, '.outpost', 'runs', runId, 'metrics.jsonl');
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  const agent = startAgentProcess(['--run', runId, '--dir', dir, '--server', url]);
  const outputs = path.join(dir, 'outputs');
  let k = 0;
  const write = (n: number) => {
    for (let i = 0; i < n; i++, k++) fs.appendFileSync(spool, `{"name":"k","value":${k}}\n`);
  };
  try {
    write(500);
    await until(async () => ((await axios.get(`${url}/api/v1/runs/${runId}`).catch(() => null))?.data as RunInfo | undefined)?.metrics.k?.count === 500, 'first lines');

    await server.stop('SIGTERM');
    // While the service is away the job goes on: lines and files pile up on disk.
    for (let round = 0; round < 10; round++) {
      write(300);
      fs.writeFileSync(path.join(outputs, `during-${round}.txt`), `written while the service was down (${round})`);
      await sleep(150);
    }
    server = await startServerProcess({ dataDir, args: ['--port', String(port)] });
    write(200);

    await until(async () => ((await axios.get(`${url}/api/v1/runs/${runId}`)).data as RunInfo).metrics.k?.count === k, 'all lines after the restart', 60_000);
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    const run = (await axios.get(`${url}/api/v1/runs/${runId}`)).data as RunInfo;
    expect(run.metrics.k).toMatchObject({ count: k, last: k - 1 });
    const points = (await axios.get(`${url}/api/v1/runs/${runId}/metrics/k`)).data.points as { value: number }[];
    expect(points.map((p) => p.value)).toEqual([...Array(k).keys()]);
    expect(run.artifacts.map((a) => a.path).sort()).toEqual([...Array(10).keys()].map((i) => `outputs/during-${i}.txt`).sort());
  } finally {
    agent.child.kill('SIGKILL');
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);

test('with the service unreachable and a 100 MB backlog in the spool, the agent reads only what it may buffer', async () => {
  const dir = tempDir('outpost-backlog-');
  const port = await freePort(); // nothing listens there
  const runId = 'backlog';
  const spool = path.join(dir, '.outpost', 'runs', runId, 'metrics.jsonl');
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  const fd = fs.openSync(spool, 'w');
  for (let chunk = 0; chunk < 44; chunk++) {
    let s = '';
    for (let i = 0; i < 50_000; i++) s += `{"name":"backlog","value":${chunk * 50_000 + i},"step":${i}}\n`;
    fs.writeSync(fd, s);
  }
  fs.closeSync(fd);
  expect(fs.statSync(spool).size).toBeGreaterThan(100 * 1000 * 1000);
  const agent = startAgentProcess(['--run', runId, '--dir', dir, '--server', `http://127.0.0.1:${port}`]);
  try {
    await until(() => fs.existsSync(path.join(path.dirname(spool), 'agent.json')), 'agent start');
    await sleep(3000); // time enough to read the whole spool, were reading not bounded
    const status = fs.readFileSync(`/proc/${agent.child.pid}/status`, 'utf8');
    const peakMiB = Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
    // Node and the agent's modules take ~80 MiB; the 100 MB spool must not come on top.
    expect(peakMiB).toBeLessThan(160);
  } finally {
    agent.child.kill('SIGKILL');
    await agent.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
