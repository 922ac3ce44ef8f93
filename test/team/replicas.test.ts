/**
 * A service for a team, end to end: three `outpost server` replicas on one PostgreSQL and one S3
 * bucket (moto) behind nginx, round-robin with retry on the next upstream; eight agents ship
 * through nginx while one replica is SIGKILLed and started again and PostgreSQL itself restarts.
 * Every line is stored exactly once and in order, every file byte for byte, and the CLI and the
 * web page work against the replicated service.
 */
import { spawn } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type PgCluster, startPgCluster } from '../../scripts/pg/cluster';
import { type MotoServer, startMoto } from '../../scripts/s3/moto';
import { agentEnv, freePort, outpost, sleep, startAgentProcess, until, type AgentProcess } from '../agent/agent-process';
import { type ServerProcess, startServerProcess, tempDir } from '../service/server-process';
import { type Nginx, startNginx } from '../../scripts/team/nginx';

const AGENTS = 8;
const LINES = 3_000;
const RATE = 500; // lines/s per writer: ~6 s of writing

let root: string;
let pg: PgCluster;
let moto: MotoServer;
let nginx: Nginx;
let dbUrl: string;
const replicas: (ServerProcess | undefined)[] = [];
let ports: number[] = [];
const BUCKET = 'outpost-team';

const replicaEnv = () => ({ ...moto.env, OUTPOST_CONFIG: JSON.stringify({ service: { s3ForcePathStyle: true } }) });

function startReplica(i: number): Promise<ServerProcess> {
  return startServerProcess({
    dataDir: path.join(root, `replica-${i}`),
    args: ['--port', String(ports[i]), '--db', dbUrl, '--blobs', `s3://${BUCKET}/team`],
    env: replicaEnv(),
  }).then((s) => (replicas[i] = s));
}

beforeAll(async () => {
  root = tempDir('outpost-team-');
  [pg, moto] = await Promise.all([startPgCluster(), startMoto()]);
  dbUrl = await pg.createDatabase('outpost');
  const s3 = new S3Client({ region: 'us-east-1', forcePathStyle: true, endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
  ports = await Promise.all([0, 1, 2].map(() => freePort()));
  // Started together: they migrate the empty database once, under its lock.
  await Promise.all([0, 1, 2].map(startReplica));
  nginx = await startNginx(path.join(root, 'nginx'), await freePort(), ports);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(replicas.map((r) => r?.stop('SIGKILL')));
  await moto?.stop();
  pg?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

async function series(runId: string): Promise<number[]> {
  const values: number[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const { data }: { data: { points: { value: number }[]; nextOffset: number | null } } = await axios.get(`${nginx.url}/api/v1/runs/${runId}/metrics/i`, { params: { offset, limit: 100_000 } });
    for (const p of data.points) values.push(p.value);
    offset = data.nextOffset;
  }
  return values;
}

test('eight agents through nginx, a replica SIGKILLed and restarted, PostgreSQL restarted: every line once and in order, every file byte for byte', async () => {
  const runs: { id: string; dir: string; agent: AgentProcess; writerDone: Promise<void>; files: Record<string, Buffer> }[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const id = `team-run-${i}`;
    const dir = path.join(root, `project-${i}`);
    const spool = path.join(dir, '.outpost', 'runs', id, 'metrics.jsonl');
    fs.mkdirSync(path.dirname(spool), { recursive: true });
    fs.mkdirSync(path.join(dir, 'outputs'), { recursive: true });
    const files: Record<string, Buffer> = {
      'notes.txt': Buffer.from(`run ${i}: small, kept in the database\n`),
      'model.bin': crypto.randomBytes(300_000 + i * 1000), // a blob in S3
    };
    const writer = spawn(process.execPath, [path.join(__dirname, '..', 'agent', 'fixtures', 'spool-writer.js'), spool, String(LINES), String(RATE)], { stdio: 'ignore' });
    const writerDone = new Promise<void>((resolve) => writer.once('exit', () => resolve()));
    const agent = startAgentProcess(['--run', id, '--dir', dir, '--server', nginx.url], agentEnv());
    runs.push({ id, dir, agent, writerDone, files });
  }
  // Files the runs write once their agents watch (what was there before an agent started is not the run's).
  for (const r of runs) await until(() => fs.existsSync(path.join(r.dir, '.outpost', 'runs', r.id, 'agent.json')), `${r.id}'s agent to start`);
  await sleep(300);
  for (const r of runs) for (const [name, bytes] of Object.entries(r.files)) fs.writeFileSync(path.join(r.dir, 'outputs', name), bytes);

  // Mid-run: a replica dies without a word and comes back; then the database restarts under all three.
  await sleep(1_500);
  await replicas[1]!.stop('SIGKILL');
  for (const r of runs.slice(0, 4)) {
    // Files changed while a replica is down: new versions go through the other two.
    r.files['notes.txt'] = Buffer.from(`${r.files['notes.txt']}second version\n`);
    fs.writeFileSync(path.join(r.dir, 'outputs', 'notes.txt'), r.files['notes.txt']);
  }
  await sleep(1_000);
  await startReplica(1);
  await sleep(1_000);
  pg.restart();
  for (const r of runs.slice(4)) {
    r.files['model.bin'] = crypto.randomBytes(200_000);
    fs.writeFileSync(path.join(r.dir, 'outputs', 'model.bin'), r.files['model.bin']);
  }

  await Promise.all(runs.map((r) => r.writerDone));
  // Every line acknowledged, then each agent ends its run (final sync) on SIGTERM.
  for (const r of runs) {
    const ack = path.join(r.dir, '.outpost', 'runs', r.id, 'metrics.jsonl.ack');
    await until(() => fs.existsSync(ack) && JSON.parse(fs.readFileSync(ack, 'utf8')).line >= LINES, `${r.id}'s lines acknowledged`, 60_000);
  }
  for (const r of runs) r.agent.child.kill('SIGTERM');
  for (const r of runs) expect({ run: r.id, exit: (await r.agent.exited).code }).toEqual({ run: r.id, exit: 0 });

  for (const r of runs) {
    const values = await series(r.id);
    expect({ run: r.id, count: values.length, firstWrong: values.findIndex((v, k) => v !== k) }).toEqual({ run: r.id, count: LINES, firstWrong: -1 });
    for (const [name, bytes] of Object.entries(r.files)) {
      const res = await axios.get<Buffer>(`${nginx.url}/api/v1/runs/${r.id}/artifacts/outputs/${name}`, { responseType: 'arraybuffer' });
      expect({ run: r.id, name, same: Buffer.from(res.data).equals(bytes) }).toEqual({ run: r.id, name, same: true });
    }
    // Versions numbered without gaps, whichever replica stored each.
    const info = (await axios.get(`${nginx.url}/api/v1/runs/${r.id}`)).data as { artifacts: { path: string; versions: number }[]; rejectedLines: number };
    expect(info.rejectedLines).toBe(0);
    for (const a of info.artifacts) {
      for (let v = 1; v <= a.versions; v++) expect((await axios.get(`${nginx.url}/api/v1/runs/${r.id}/artifacts/${a.path}`, { params: { version: v } })).status).toBe(200);
    }
  }

  // The CLI and the web page, against the replicated service.
  const list = outpost(['history', 'list', '--server', nginx.url, '--json']);
  expect(list.status).toBe(0);
  expect((JSON.parse(list.stdout) as { id: string }[]).map((r) => r.id).sort()).toEqual(runs.map((r) => r.id).sort());
  const info = outpost(['history', 'info', '-r', runs[3].id, '--server', nginx.url, '--json']);
  expect(JSON.parse(info.stdout)).toMatchObject({ id: runs[3].id, metrics: { i: { count: LINES, last: LINES - 1 } } });
  const download = path.join(root, 'downloaded.bin');
  expect(outpost(['history', 'info', '-r', runs[5].id, '-a', 'outputs/model.bin', '-o', download, '--server', nginx.url]).status).toBe(0);
  expect(fs.readFileSync(download).equals(runs[5].files['model.bin'])).toBe(true);
  const page = await axios.get<string>(`${nginx.url}/`);
  expect(page.status).toBe(200);
  expect(page.data).toContain('<script');
  const table = await axios.get(`${nginx.url}/api/v1/runs`, { params: { include: 'metrics', filter: 'metrics.i >= 2999', sort: 'name' } });
  expect(table.data).toHaveLength(AGENTS);
}, 180_000);
