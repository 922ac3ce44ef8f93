/**
 * Big files go as resumable uploads: an agent SIGKILLed mid-upload, a service restarted mid-upload
 * or a partial upload abandoned cost at most the chunk in flight, never the whole file again. The
 * bytes the service received are counted from its own debug log (one line per chunk request).
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { agentEnv, freePort, outpost, sleep, startAgentProcess, until } from './agent-process';
import { type ServerProcess, startServerProcess, tempDir } from '../service/server-process';

const MiB = 1024 * 1024;
const CHUNK = 8 * MiB;

function config(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    agent: { fileStableMs: 150, reconcileIntervalMs: 1000, retryInitialMs: 50, retryMaxMs: 400, finalSyncGraceMs: 15000, uploadExisting: true, uploadChunkBytes: CHUNK },
    ...extra,
  });
}

/** Random bytes, quickly: `head` from /dev/urandom. Returns the file's sha256. */
function randomFile(file: string, bytes: number): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('head', ['-c', String(bytes), '/dev/urandom'], { stdio: ['ignore', fs.openSync(file, 'w'), 'inherit'] });
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Bytes of chunk requests the service received, stored or not, from its debug log. */
function chunkBytes(log: string): { bytes: number; requests: number } {
  let bytes = 0;
  let requests = 0;
  for (const m of log.matchAll(/chunk at \d+, (\d+) bytes received/g)) {
    bytes += Number(m[1]);
    requests++;
  }
  return { bytes, requests };
}

function acked(dir: string, runId: string, artifactPath: string): number {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dir, '.outpost', 'runs', runId, 'files.uploads.json'), 'utf8'));
    return state.uploads[artifactPath]?.acked ?? 0;
  } catch {
    return 0;
  }
}

async function storedSha(url: string, runId: string, artifactPath: string): Promise<string | undefined> {
  const res = await axios.get(`${url}/api/v1/runs/${runId}`, { validateStatus: () => true });
  return res.status === 200 ? (res.data.artifacts as { path: string; sha256: string }[]).find((a) => a.path === artifactPath)?.sha256 : undefined;
}

/** The stored file through the CLI's download (which checks its sha256), hashed here again. */
function downloadedSha(url: string, dir: string, runId: string, artifactPath: string): string {
  const dest = path.join(dir, 'downloaded.bin');
  const r = outpost(['history', 'info', '-r', runId, '-a', artifactPath, '-o', dest, '--server', url]);
  expect(r.status).toBe(0);
  const sha = createHash('sha256').update(fs.readFileSync(dest)).digest('hex');
  fs.rmSync(dest);
  return sha;
}

let dir: string;
let server: ServerProcess | undefined;
beforeEach(() => {
  dir = tempDir('outpost-resume-');
});
afterEach(async () => {
  await server?.stop('SIGKILL');
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the agent SIGKILLed 5 times during a 400 MiB upload: the service receives at most the file and 5 chunks, and stores it byte for byte', async () => {
  const SIZE = 400 * MiB;
  server = await startServerProcess({ dataDir: path.join(dir, 'service-data'), env: { OUTPOST_LOG_LEVEL: 'debug' } });
  const runId = 'resume-kills';
  const sha256 = randomFile(path.join(dir, 'outputs', 'model.bin'), SIZE);
  const args = ['--run', runId, '--dir', dir, '--server', server.url];
  const env = agentEnv({ OUTPOST_CONFIG: config() });
  for (let kill = 1; kill <= 5; kill++) {
    const agent = startAgentProcess(args, env);
    // After the service acknowledged some more chunks, at a random moment inside the next ones.
    const before = acked(dir, runId, 'outputs/model.bin');
    await until(() => acked(dir, runId, 'outputs/model.bin') >= before + 3 * CHUNK, `agent ${kill} to send three chunks`, 60_000);
    await sleep(Math.random() * 60);
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  expect(acked(dir, runId, 'outputs/model.bin')).toBeLessThan(SIZE); // the kills all came mid-upload
  const last = startAgentProcess(args, env);
  await until(async () => (await storedSha(server!.url, runId, 'outputs/model.bin')) === sha256, 'the file stored', 120_000);
  last.child.kill('SIGTERM');
  await last.exited;

  const { bytes } = chunkBytes(server.stderr());
  expect(bytes).toBeGreaterThanOrEqual(SIZE);
  expect(bytes).toBeLessThanOrEqual(SIZE + 5 * CHUNK);
  expect(downloadedSha(server.url, dir, runId, 'outputs/model.bin')).toBe(sha256);
  // Nothing left behind: no partial upload, and the agent forgot its progress.
  expect(fs.readdirSync(path.join(dir, 'service-data', 'blobs', '.tmp', 'uploads'))).toEqual([]);
  expect(acked(dir, runId, 'outputs/model.bin')).toBe(0);
}, 180_000);

test('the service SIGKILLed and restarted mid-upload: the agent goes on from the last chunk stored', async () => {
  const SIZE = 120 * MiB;
  const port = await freePort();
  const dataDir = path.join(dir, 'service-data');
  const serverArgs = { dataDir, args: ['--port', String(port)], env: { OUTPOST_LOG_LEVEL: 'debug' } };
  server = await startServerProcess(serverArgs);
  const runId = 'resume-restart';
  const sha256 = randomFile(path.join(dir, 'outputs', 'weights.bin'), SIZE);
  const agent = startAgentProcess(['--run', runId, '--dir', dir, '--server', server.url], agentEnv({ OUTPOST_CONFIG: config() }));
  await until(() => acked(dir, runId, 'outputs/weights.bin') >= 4 * CHUNK, 'four chunks', 60_000);
  await server.stop('SIGKILL');
  const firstLog = server.stderr();
  server = await startServerProcess(serverArgs);
  await until(async () => (await storedSha(server!.url, runId, 'outputs/weights.bin')) === sha256, 'the file stored', 120_000);
  agent.child.kill('SIGTERM');
  await agent.exited;
  const { bytes } = chunkBytes(firstLog + server.stderr());
  // The chunk cut by the kill came twice at most (what of it arrived before, and all of it after).
  expect(bytes).toBeGreaterThanOrEqual(SIZE);
  expect(bytes).toBeLessThanOrEqual(SIZE + CHUNK);
  // The second service had only part of the upload to take.
  expect(chunkBytes(server.stderr()).bytes).toBeLessThan(SIZE);
  expect(downloadedSha(server.url, dir, runId, 'outputs/weights.bin')).toBe(sha256);
}, 120_000);

test('a partial upload left without a chunk for service.uploadPartialMaxAgeS is swept; the agent then starts it over', async () => {
  server = await startServerProcess({
    dataDir: path.join(dir, 'service-data'),
    env: { OUTPOST_CONFIG: JSON.stringify({ service: { uploadPartialMaxAgeS: 1, blobTempSweepS: 1 } }) },
  });
  const api = axios.create({ baseURL: `${server.url}/api/v1`, validateStatus: () => true });
  expect((await api.put('/runs/swept', { experiment: 'e' })).status).toBeLessThan(300);
  const opened = await api.post('/runs/swept/uploads', { path: 'outputs/a.bin', size: 3 * MiB, chunkBytes: MiB });
  expect(opened.status).toBe(201);
  const id = opened.data.uploadId as string;
  const chunk = await api.put(`/runs/swept/uploads/${id}?offset=0`, Buffer.alloc(MiB, 1), { headers: { 'content-type': 'application/octet-stream' } });
  expect(chunk.data).toMatchObject({ uploadId: id, received: MiB, size: 3 * MiB, chunkBytes: MiB });
  const partials = path.join(dir, 'service-data', 'blobs', '.tmp', 'uploads');
  expect(fs.readdirSync(partials)).toEqual([id]);
  // Left alone: swept once over a second old, at the next sweep (every second).
  await until(async () => (await api.get(`/runs/swept/uploads/${id}`)).status === 404, 'the partial upload swept', 10_000);
  expect(fs.readdirSync(partials)).toEqual([]);
  const gone = await api.put(`/runs/swept/uploads/${id}?offset=${MiB}`, Buffer.alloc(MiB, 2), { headers: { 'content-type': 'application/octet-stream' } });
  expect(gone.status).toBe(404);
  expect(gone.data.error.code).toBe('OUTPOST_ERR_UPLOAD_NOT_FOUND');

  // An agent whose progress names an upload the service swept opens another and sends it all.
  const runId = 'swept';
  const sha256 = randomFile(path.join(dir, 'outputs', 'a.bin'), 3 * MiB);
  const st = fs.statSync(path.join(dir, 'outputs', 'a.bin'));
  const runDir = path.join(dir, '.outpost', 'runs', runId);
  fs.mkdirSync(runDir, { recursive: true });
  const progress = { uploadId: id, size: st.size, mtimeMs: st.mtimeMs, chunkBytes: MiB, acked: MiB, sha256: null };
  fs.writeFileSync(path.join(runDir, 'files.uploads.json'), JSON.stringify({ version: 1, uploads: { 'outputs/a.bin': progress } }));
  const agent = startAgentProcess(
    ['--run', runId, '--dir', dir, '--server', server.url],
    agentEnv({ OUTPOST_CONFIG: config({ agent: { ...JSON.parse(config()).agent, uploadChunkBytes: MiB } }) }),
  );
  await until(async () => (await storedSha(server!.url, runId, 'outputs/a.bin')) === sha256, 'the file stored', 30_000);
  agent.child.kill('SIGTERM');
  await agent.exited;
}, 60_000);
