/** The spool's edge cases, with the real agent and service as processes. */
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import type { RunInfo } from '../../src/protocol';
import type { AckWatermark } from '../../src/run-folder';
import { startServerProcess } from '../service/server-process';
import { AgentProcess, agentEnv, FAST_CONFIG, serverForFile, startAgentProcess, until } from './agent-process';

const shared = serverForFile('outpost-spool-');

function spoolOf(runId: string): string {
  const file = path.join(shared.dir, '.outpost', 'runs', runId, 'metrics.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

function agentFor(runId: string): AgentProcess {
  return startAgentProcess(['--run', runId, '--dir', shared.dir, '--server', shared.server.url]);
}

async function stop(agent: AgentProcess): Promise<void> {
  agent.child.kill('SIGTERM');
  const { code } = await agent.exited;
  expect({ code, output: agent.output() }).toMatchObject({ code: 0 });
}

function watermark(spool: string): AckWatermark | null {
  try {
    return JSON.parse(fs.readFileSync(`${spool}.ack`, 'utf8')) as AckWatermark;
  } catch {
    return null;
  }
}

async function values(runId: string, name: string): Promise<unknown[]> {
  const res = await axios.get(`${shared.server.url}/api/v1/runs/${runId}/metrics/${encodeURIComponent(name)}`);
  return (res.data.points as { value: unknown }[]).map((p) => p.value);
}

async function info(runId: string): Promise<RunInfo> {
  return (await axios.get(`${shared.server.url}/api/v1/runs/${runId}`)).data as RunInfo;
}

test('a partial last line waits for its newline, also across a SIGKILL and restart', async () => {
  const spool = spoolOf('partial');
  fs.writeFileSync(spool, '{"name":"a","value":1}\n{"name":"a","val');
  const first = agentFor('partial');
  await until(() => watermark(spool)?.line === 1, 'line 1 acknowledged');
  first.child.kill('SIGKILL');
  await first.exited;
  expect(await values('partial', 'a')).toEqual([1]);

  fs.appendFileSync(spool, 'ue":2}\n');
  const second = agentFor('partial');
  await until(() => watermark(spool)?.line === 2, 'line 2 acknowledged');
  await stop(second);
  expect(await values('partial', 'a')).toEqual([1, 2]);
  expect((await info('partial')).rejectedLines).toBe(0);
});

test('a truncated spool is read as a new stream, with a warning, nothing lost and nothing sent twice', async () => {
  const spool = spoolOf('truncated');
  fs.writeFileSync(spool, [1, 2, 3, 4, 5].map((v) => `{"name":"t","value":${v}}\n`).join(''));
  const agent = agentFor('truncated');
  await until(() => watermark(spool)?.line === 5, 'five lines acknowledged');
  fs.truncateSync(spool, 0);
  fs.appendFileSync(spool, [6, 7, 8].map((v) => `{"name":"t","value":${v}}\n`).join(''));
  await until(async () => (await values('truncated', 't')).length === 8, 'eight values');
  await stop(agent);
  expect(await values('truncated', 't')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  const events = (await info('truncated')).events;
  expect(events.some((e) => e.kind === 'stream-reset' && /truncated|shrank/.test(e.message))).toBe(true);
});

test('a spool truncated while no agent runs is detected at restart', async () => {
  const spool = spoolOf('truncated-offline');
  fs.writeFileSync(spool, [1, 2, 3, 4].map((v) => `{"name":"t","value":${v}}\n`).join(''));
  const agent = agentFor('truncated-offline');
  await until(() => watermark(spool)?.line === 4, 'four lines acknowledged');
  await stop(agent);
  fs.writeFileSync(spool, '{"name":"t","value":5}\n');
  const again = agentFor('truncated-offline');
  await until(async () => (await values('truncated-offline', 't')).length === 5, 'five values');
  await stop(again);
  expect(await values('truncated-offline', 't')).toEqual([1, 2, 3, 4, 5]);
});

test('a replaced spool (a new file renamed over it) is read as a new stream after the old one is drained', async () => {
  const spool = spoolOf('replaced');
  fs.writeFileSync(spool, [1, 2, 3].map((v) => `{"name":"r","value":${v}}\n`).join(''));
  const agent = agentFor('replaced');
  await until(() => watermark(spool)?.line === 3, 'three lines acknowledged');
  const next = `${spool}.new`;
  fs.writeFileSync(next, [4, 5].map((v) => `{"name":"r","value":${v}}\n`).join(''));
  fs.renameSync(next, spool);
  await until(async () => (await values('replaced', 'r')).length === 5, 'five values');
  await stop(agent);
  expect(await values('replaced', 'r')).toEqual([1, 2, 3, 4, 5]);
  expect((await info('replaced')).events.some((e) => e.kind === 'stream-reset' && /replaced/.test(e.message))).toBe(true);
});

test('ten kinds of invalid line are rejected with file, line number and reason; the lines around them are stored', async () => {
  const spool = spoolOf('invalid');
  const bad: (string | Buffer)[] = [
    '{"name": "x", "value": 1', // 1 not JSON
    '[1, 2, 3]', // 2 not an object
    '{"value": 3}', // 3 no name
    '{"name": "x"}', // 4 no value
    '{"name": "x", "value": null}', // 5 null value
    '{"name": "x", "value": 1e999}', // 6 not finite
    '{"name": "x", "value": [1, "two"]}', // 7 list of non-numbers
    '{"name": "x", "value": 1, "step": -1}', // 8 negative step
    '{"name": "x", "value": 1, "colour": "red"}', // 9 unknown field
    Buffer.from([0x7b, 0x22, 0x6e, 0xff, 0xfe, 0x22, 0x7d]), // 10 invalid UTF-8
    `{"name": "x", "value": "${'y'.repeat(70 * 1024)}"}`, // 11 over the line-size limit
  ];
  const parts: Buffer[] = [];
  let good = 0;
  for (const b of bad) {
    parts.push(Buffer.from(`{"name":"ok","value":${good++}}\n`));
    parts.push(Buffer.isBuffer(b) ? b : Buffer.from(b), Buffer.from('\n'));
  }
  parts.push(Buffer.from(`{"name":"ok","value":${good++}}\n`));
  fs.writeFileSync(spool, Buffer.concat(parts));
  const agent = agentFor('invalid');
  await until(() => watermark(spool)?.line === bad.length * 2 + 1, 'every line acknowledged');
  await stop(agent);
  // The line for people at the end says how many were rejected.
  expect(agent.output()).toContain(`${bad.length * 2 + 1} metric lines (${bad.length} rejected) and 0 files shipped`);
  expect(await values('invalid', 'ok')).toEqual([...Array(good).keys()]);
  const run = await info('invalid');
  expect(run.rejectedLines).toBe(bad.length);
  expect(run.rejected.map((r) => r.line)).toEqual(bad.map((_, i) => 2 * i + 2));
  // The reason alone: file and line are fields of their own.
  for (const r of run.rejected) expect(r).toMatchObject({ file: 'metrics.jsonl', reason: expect.not.stringMatching(/line \d+:/) });
  const reasons = run.rejected.map((r) => r.reason).join('\n');
  for (const words of ['not valid JSON', 'must be a JSON object', 'missing "name"', 'missing "value"', 'null', 'not a finite number', 'must be a finite number', '"step" must be an integer', 'unknown field "colour"', 'not valid UTF-8', 'over the limit']) {
    expect(reasons).toContain(words);
  }
});

test('a valid line near the size limit whose numbers re-encode longer (1e5 -> 100000) is stored, and so are the lines after it', async () => {
  const spool = spoolOf('long-valid');
  const big = `{"name":"curve","value":[${Array(7000).fill('1e5').join(',')}]}`; // ~28 KB written, ~48 KB re-encoded
  const line = `{"name":"series","value":[${Array(10500).fill('1e5').join(',')}]}`; // ~42 KB written, ~73 KB re-encoded
  expect(Buffer.byteLength(line)).toBeLessThan(64 * 1024);
  fs.writeFileSync(spool, `${big}\n${line}\n{"name":"after","value":1}\n`);
  const agent = agentFor('long-valid');
  await until(() => watermark(spool)?.line === 3, 'three lines acknowledged');
  await stop(agent);
  expect(((await values('long-valid', 'series'))[0] as number[]).length).toBe(10500);
  expect(await values('long-valid', 'after')).toEqual([1]);
  expect((await info('long-valid')).rejectedLines).toBe(0);
});

test('big batches are gzipped on their way to a service elsewhere, not to one on this machine', async () => {
  // [::ffff:127.0.0.1] is this machine spelled as an IPv6 address: not recognised as loopback,
  // so the agent behaves as with a remote service while the traffic stays on loopback.
  const port = new URL(shared.server.url).port;
  const lines = Array.from({ length: 20_000 }, (_, i) => `{"name":"x","value":${i},"step":${i}}\n`).join(''); // ~700 KB
  const env = { ...agentEnv(), OUTPOST_LOG_LEVEL: 'debug' };
  for (const [runId, server, gzipped] of [
    ['remote-ish', `http://[::ffff:127.0.0.1]:${port}`, true],
    ['local', shared.server.url, false],
  ] as const) {
    const spool = spoolOf(runId);
    fs.writeFileSync(spool, lines);
    const agent = startAgentProcess(['--run', runId, '--dir', shared.dir, '--server', server], env);
    await until(() => watermark(spool)?.line === 20_000, `${runId}: all lines acknowledged`);
    await stop(agent);
    expect(agent.output().includes('gzipped to')).toBe(gzipped);
    const got = await values(runId, 'x');
    expect(got).toHaveLength(20_000);
    expect(got.every((v, i) => v === i)).toBe(true);
  }
});

test('a spool briefly replaced by a folder: the old file is drained, a warning is recorded, and the spool made again is read as a new stream', async () => {
  const spool = spoolOf('folder-swap');
  const line = (v: number) => `{"name":"f","value":${v}}\n`;
  fs.writeFileSync(spool, [1, 2, 3].map(line).join(''));
  const agent = agentFor('folder-swap');
  await until(() => watermark(spool)?.line === 3, 'three lines acknowledged');
  // mv m.jsonl m.old; a late write still reaches the old file; mkdir m.jsonl; wait; rmdir
  fs.renameSync(spool, `${spool}.old`);
  fs.appendFileSync(`${spool}.old`, line(4));
  fs.mkdirSync(spool);
  await until(async () => (await info('folder-swap')).events.some((e) => e.kind === 'warning' && /is a folder now/.test(e.message)), 'the folder noticed');
  fs.rmdirSync(spool);
  fs.writeFileSync(spool, [5, 6].map(line).join(''));
  await until(async () => (await values('folder-swap', 'f')).length === 6, 'six values');
  await stop(agent);
  expect(await values('folder-swap', 'f')).toEqual([1, 2, 3, 4, 5, 6]);
  expect(agent.output()).not.toMatch(/reader failed/);
  expect((await info('folder-swap')).events.some((e) => e.kind === 'stream-reset')).toBe(true);
});

test('an unterminated last line at the end of a run is recorded as rejected, and the end-of-run line says so', async () => {
  const spool = spoolOf('no-newline');
  fs.writeFileSync(spool, '{"name":"n","value":1}\n{"name":"n","value":2}');
  const agent = agentFor('no-newline');
  await until(() => watermark(spool)?.line === 1, 'line 1 acknowledged');
  await stop(agent);
  expect(agent.output()).toContain('2 metric lines (1 rejected: the last had no newline) and 0 files shipped');
  expect(await values('no-newline', 'n')).toEqual([1]);
  const run = await info('no-newline');
  expect(run.rejectedLines).toBe(1);
  expect(run.rejected[0]).toMatchObject({ line: 2 });
  expect(run.rejected[0].reason).toMatch(/no newline before the run ended/);
  expect(watermark(spool)?.offset).toBe(fs.statSync(spool).size);
});

test('a run id of the longest length allowed (limits.maxIdChars) works end to end: lines and files arrive', async () => {
  const id = `r${'x'.repeat(127)}`;
  const spool = spoolOf(id);
  fs.writeFileSync(spool, '{"name":"long","value":1}\n');
  fs.mkdirSync(path.join(shared.dir, 'outputs'), { recursive: true });
  fs.writeFileSync(path.join(shared.dir, 'outputs', `${id}.txt`), 'a file');
  const config = JSON.parse(FAST_CONFIG) as { agent: Record<string, unknown> };
  config.agent.uploadExisting = true;
  const agent = startAgentProcess(['--run', id, '--dir', shared.dir, '--server', shared.server.url], agentEnv({ OUTPOST_CONFIG: JSON.stringify(config) }));
  await until(() => watermark(spool)?.line === 1, 'the line acknowledged');
  await stop(agent);
  expect(agent.output()).toContain('1 metric line and 1 file shipped');
  expect(await values(id, 'long')).toEqual([1]);
});

test('a service that lacks lines the agent saw acknowledged (restored from an older backup) refuses the gap; the agent reads the spool again and every line arrives once, in order', async () => {
  const spool = spoolOf('gap');
  const line = (v: number) => `{"name":"g","value":${v}}\n`;
  fs.writeFileSync(spool, Array.from({ length: 100 }, (_, i) => line(i + 1)).join(''));
  const first = agentFor('gap');
  await until(() => watermark(spool)?.line === 100, '100 lines acknowledged');
  await stop(first);
  // Another service, with nothing of this run: the checkpoint says 100 lines are stored.
  const restored = await startServerProcess({ dataDir: path.join(shared.dir, 'restored-service') });
  try {
    fs.appendFileSync(spool, Array.from({ length: 10 }, (_, i) => line(101 + i)).join(''));
    const second = startAgentProcess(['--run', 'gap', '--dir', shared.dir, '--server', restored.url]);
    const got = async () => ((await axios.get(`${restored.url}/api/v1/runs/gap/metrics/g`).catch(() => null))?.data.points ?? []).map((p: { value: number }) => p.value);
    await until(async () => (await got()).length === 110, 'all 110 lines on the restored service');
    await stop(second);
    expect(await got()).toEqual(Array.from({ length: 110 }, (_, i) => i + 1));
    const run = (await axios.get(`${restored.url}/api/v1/runs/gap`)).data as RunInfo;
    expect(run.events.some((e) => e.kind === 'warning' && /read again from its first line/.test(e.message))).toBe(true);
  } finally {
    await restored.stop();
  }
});
