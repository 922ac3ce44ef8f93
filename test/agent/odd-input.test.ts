/** Odd input through the real agent and server processes: a spool line nested 20,000 deep, file names holding "%" sequences. */
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { artifactUrl } from '../../src/http/api-client';
import type { RunInfo } from '../../src/protocol';
import type { AckWatermark } from '../../src/run-folder';
import { serverForFile, startAgentProcess, until } from './agent-process';

const shared = serverForFile('outpost-odd-input-');
const api = (p: string) => `${shared.server.url}/api/v1${p}`;

/** A project folder of its own (the agent finds .outpost/ in the nearest folder above that has one). */
function project(name: string): { dir: string; runDir: string; outputs: string } {
  const dir = path.join(shared.dir, name);
  const runDir = path.join(dir, '.outpost', 'runs', name);
  const outputs = path.join(dir, 'outputs');
  fs.mkdirSync(runDir, { recursive: true });
  fs.mkdirSync(outputs, { recursive: true });
  return { dir, runDir, outputs };
}

function watermark(spool: string): AckWatermark | null {
  try {
    return JSON.parse(fs.readFileSync(`${spool}.ack`, 'utf8')) as AckWatermark;
  } catch {
    return null;
  }
}

async function info(runId: string): Promise<RunInfo> {
  return (await axios.get(api(`/runs/${runId}`))).data as RunInfo;
}

test('a spool line nested 20,000 deep is rejected; the good lines around it are stored and the final sync ends with exit 0', async () => {
  const { dir, runDir } = project('deep');
  const spool = path.join(runDir, 'metrics.jsonl');
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  fs.writeFileSync(spool, ['{"name":"ok","value":1}', `{"name":"ok","value":2,"step":${deep}}`, '{"name":"ok","value":3}', ''].join('\n'));
  const agent = startAgentProcess(['--run', 'deep', '--dir', dir, '--server', shared.server.url]);
  await until(() => watermark(spool)?.line === 3, 'all three lines acknowledged');
  fs.appendFileSync(spool, `{"name":"ok","value":4,"time":${deep}}\n{"name":"ok","value":5}\n`);
  agent.child.kill('SIGTERM');
  const { code } = await agent.exited;
  expect({ code, output: agent.output() }).toMatchObject({ code: 0 });
  const points = (await axios.get(api('/runs/deep/metrics/ok'))).data.points as { value: number }[];
  expect(points.map((p) => p.value)).toEqual([1, 3, 5]);
  const run = await info('deep');
  expect(run.status).toBe('completed');
  expect(run.rejected.map((r) => [r.line, r.reason])).toEqual([
    [2, '"step" must be an integer >= 0, got a list of 1 item'],
    [4, '"time" must be seconds since the epoch, got a list of 1 item'],
  ]);
});

test('files in outputs/ whose names hold "%" sequences are uploaded and download byte-exact by their names', async () => {
  const { dir, runDir, outputs } = project('names');
  const agent = startAgentProcess(['--run', 'names', '--dir', dir, '--server', shared.server.url]);
  await until(() => fs.existsSync(path.join(runDir, 'files.json')), 'the agent to start');
  const files: Record<string, Buffer> = {
    'v1%2e0.txt': Buffer.from('version one point oh\n'),
    'https%3A%2F%2Fhuggingface.co%2Fbert.json': Buffer.from('{"model": "bert"}\n'),
    '..%2Fx': Buffer.from('not a way out\n'),
    '%252e%252e': Buffer.from('twice encoded\n'),
    'model%2Fv2.bin': crypto.randomBytes(300 * 1024), // over service.inlineBlobBytes: streamed into blobs/
  };
  fs.mkdirSync(path.join(outputs, 'sub%2Fdir'));
  files['sub%2Fdir/a%00b.txt'] = Buffer.from('in a folder with a "%" name\n');
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(outputs, name), bytes);
  agent.child.kill('SIGTERM');
  const { code } = await agent.exited;
  expect({ code, output: agent.output() }).toMatchObject({ code: 0 });

  const run = await info('names');
  expect(run.events.filter((e) => e.kind === 'file-refused')).toEqual([]);
  expect(run.artifacts.map((a) => a.path).sort()).toEqual(Object.keys(files).map((n) => `outputs/${n}`).sort());
  for (const [name, bytes] of Object.entries(files)) {
    const res = await axios.get(api(artifactUrl('names', `outputs/${name}`)), { responseType: 'arraybuffer' });
    expect({ name, same: Buffer.from(res.data).equals(bytes) }).toEqual({ name, same: true });
  }
});
