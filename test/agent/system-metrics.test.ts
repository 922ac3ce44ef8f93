/**
 * The machine's load under `outpost run`: CPU, memory, disk, network, the job's process tree, and
 * each GPU from nvidia-smi (a stand-in on PATH that prints what the real one prints), into
 * system/... metrics; --no-system-metrics turns it off.
 */
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import type { RunInfo } from '../../src/protocol';
import { agentEnv, FAST_CONFIG, outpost, serverForFile } from './agent-process';

const shared = serverForFile('outpost-system-');
const FIXTURES = path.join(__dirname, 'fixtures');

function config(extra: Record<string, unknown>): string {
  const c = JSON.parse(FAST_CONFIG) as { agent: Record<string, unknown> };
  Object.assign(c.agent, extra);
  return JSON.stringify(c);
}

async function info(runId: string): Promise<RunInfo> {
  return (await axios.get(`${shared.server.url}/api/v1/runs/${runId}`)).data as RunInfo;
}

async function values(runId: string, name: string): Promise<number[]> {
  const res = await axios.get(`${shared.server.url}/api/v1/runs/${runId}/metrics/${encodeURIComponent(name)}`);
  return (res.data.points as { value: number }[]).map((p) => p.value);
}

function run(dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const env = agentEnv({ OUTPOST_CONFIG: config({ systemMetricsIntervalMs: 200 }), PATH: `${FIXTURES}:${process.env.PATH}`, ...extraEnv });
  const r = outpost(['run', '--server', shared.server.url, '--dir', dir, ...args, '--', process.execPath, path.join(FIXTURES, 'busy-job.js')], { cwd: dir, env });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  return /run (\S+) started/.exec(r.stderr)![1];
}

test("sampled every interval: the machine's CPU, memory, disk and network, the job's tree (its child included), and each GPU as nvidia-smi reports it", async () => {
  const smiLog = path.join(shared.dir, 'smi.log');
  const runId = run(path.join(shared.dir, 'on'), [], { NVIDIA_SMI_LOG: smiLog });
  const metrics = (await info(runId)).metrics;
  const names = Object.keys(metrics).filter((n) => n.startsWith('system/'));
  expect(names.sort()).toEqual(
    [
      'system/cpu_percent',
      'system/memory_used_bytes',
      'system/memory_available_bytes',
      'system/disk_read_bytes_per_s',
      'system/disk_write_bytes_per_s',
      'system/disk_free_bytes',
      'system/network_rx_bytes_per_s',
      'system/network_tx_bytes_per_s',
      'system/process/cpu_percent',
      'system/process/rss_bytes',
      'system/process/count',
      'system/gpu/0/utilization_percent',
      'system/gpu/0/memory_used_bytes',
      'system/gpu/0/memory_total_bytes',
      'system/gpu/0/power_watts',
      'system/gpu/0/temperature_celsius',
      'system/gpu/1/memory_used_bytes',
      'system/gpu/1/memory_total_bytes',
      'system/gpu/1/temperature_celsius',
    ].sort(),
  );
  // About 2.5 s at one sample every 200 ms.
  expect(metrics['system/cpu_percent'].count).toBeGreaterThanOrEqual(4);
  const cpu = await values(runId, 'system/cpu_percent');
  expect(cpu.every((v) => v >= 0 && v <= 100)).toBe(true);
  // The job holds 200 MB and keeps about a core busy; it and its child are the tree.
  expect(Math.max(...(await values(runId, 'system/process/rss_bytes')))).toBeGreaterThan(200 * 1024 * 1024);
  expect(Math.max(...(await values(runId, 'system/process/cpu_percent')))).toBeGreaterThan(40);
  expect(Math.max(...(await values(runId, 'system/process/count')))).toBe(2);
  expect((await values(runId, 'system/disk_free_bytes'))[0]).toBeGreaterThan(0);
  expect(new Set(await values(runId, 'system/gpu/0/memory_used_bytes'))).toEqual(new Set([1024 * 1024 * 1024]));
  expect(new Set(await values(runId, 'system/gpu/1/memory_total_bytes'))).toEqual(new Set([16384 * 1024 * 1024]));
  expect((await values(runId, 'system/gpu/0/power_watts'))[0]).toBe(45.12);
  expect((await values(runId, 'system/gpu/0/utilization_percent')).every((v) => v >= 30 && v < 40)).toBe(true);
  // One nvidia-smi for the whole run, in its loop mode.
  expect(fs.readFileSync(smiLog, 'utf8').trim().split('\n')).toEqual(['--query-gpu=index,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu --format=csv,noheader,nounits --loop-ms=200']);
}, 60_000);

test('--no-system-metrics, or agent.systemMetricsIntervalMs 0: nothing sampled, and no nvidia-smi started', async () => {
  const smiLog = path.join(shared.dir, 'smi-off.log');
  const off = run(path.join(shared.dir, 'off'), ['--no-system-metrics'], { NVIDIA_SMI_LOG: smiLog });
  expect(Object.keys((await info(off)).metrics).filter((n) => n.startsWith('system/'))).toEqual([]);
  const zero = run(path.join(shared.dir, 'zero'), [], { NVIDIA_SMI_LOG: smiLog, OUTPOST_CONFIG: config({ systemMetricsIntervalMs: 0 }) });
  expect(Object.keys((await info(zero)).metrics).filter((n) => n.startsWith('system/'))).toEqual([]);
  expect(fs.existsSync(smiLog)).toBe(false);
}, 60_000);

test('a machine without nvidia-smi: the other figures, no GPU ones, and no warning', async () => {
  const dir = path.join(shared.dir, 'nogpu');
  fs.mkdirSync(dir, { recursive: true });
  const env = agentEnv({ OUTPOST_CONFIG: config({ systemMetricsIntervalMs: 200 }), OUTPOST_LOG_LEVEL: 'info' });
  const r = outpost(['run', '--server', shared.server.url, '--dir', dir, '--', process.execPath, path.join(FIXTURES, 'busy-job.js')], { cwd: dir, env });
  expect(r.status).toBe(0);
  const runId = /run (\S+) started/.exec(r.stderr)![1];
  const names = Object.keys((await info(runId)).metrics);
  expect(names).toContain('system/cpu_percent');
  expect(names.filter((n) => n.startsWith('system/gpu/'))).toEqual([]);
  expect(r.stderr).not.toMatch(/nvidia-smi/);
}, 60_000);
