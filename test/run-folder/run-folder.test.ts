/** The run folder's files, each read back as it was written, and older or hostile ones read safely. */
import fs from 'fs';
import path from 'path';
import {
  ACK_SUFFIX,
  liveAgent,
  loadRunFolder,
  prepareRunFolder,
  readExitRecord,
  readFilesState,
  readWatermark,
  registrationOf,
  removePresence,
  writeExitRecord,
  writeFilesState,
  writePresence,
} from '../../src/run-folder';
import { tempDir } from '../service/server-process';

let dir: string;
beforeEach(() => {
  dir = tempDir('outpost-run-folder-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('run.json keeps the facts a run was registered with, and a later registration uses them', async () => {
  const facts = { startTime: '2026-01-02T03:04:05.678Z', command: 'python3 train.py', cwd: dir, host: 'box' };
  const made = await prepareRunFolder({ projectDir: dir, experiment: 'e', name: 'n', server: null, facts });
  expect(made.created).toBe(true);
  const again = await loadRunFolder(made.runDir);
  expect(again).toMatchObject({ id: made.id, createdTime: facts.startTime, facts, outputsAllowedIn: fs.realpathSync(dir) });
  expect(registrationOf(again!)).toEqual({ experiment: 'e', name: 'n', ...facts });
  // Made again for the same id: read back, not made anew.
  expect((await prepareRunFolder({ projectDir: dir, runId: made.id, experiment: 'other', server: null })).created).toBeUndefined();
});

test('an older run.json, without facts or outputsAllowedIn, still loads: outputs/ must stay in its parent, the run starts at its creation', async () => {
  const runDir = path.join(dir, '.outpost', 'runs', 'old');
  fs.mkdirSync(runDir, { recursive: true });
  const outputsDir = path.join(dir, 'outputs');
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ id: 'old', experiment: 'e', name: 'old', server: null, outputsDir, metricsFile: path.join(runDir, 'metrics.jsonl'), createdTime: '2025-01-01T00:00:00.000Z' }));
  const folder = (await loadRunFolder(runDir))!;
  expect(folder.outputsAllowedIn).toBe(dir);
  expect(registrationOf(folder)).toEqual({ experiment: 'e', name: 'old', startTime: '2025-01-01T00:00:00.000Z' });
});

test('--outputs: a folder named explicitly may be anywhere, where it leads when the run is made', async () => {
  const elsewhere = tempDir('outpost-elsewhere-');
  try {
    const folder = await prepareRunFolder({ projectDir: dir, experiment: 'e', server: null, outputsDir: path.join(elsewhere, 'out'), outputsExplicit: true });
    expect(folder.outputsAllowedIn).toBe(fs.realpathSync(path.join(elsewhere, 'out')));
  } finally {
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('agent.json: written for its owner only, a live agent is seen, the file removed or naming a dead pid is none', async () => {
  const runDir = path.join(dir, 'run');
  await writePresence(runDir, { pid: process.ppid, server: 'http://127.0.0.1:1', token: 'secret-token-of-the-run', startedTime: 'now' });
  expect(fs.statSync(path.join(runDir, 'agent.json')).mode & 0o777).toBe(0o600);
  expect(await liveAgent(runDir)).toMatchObject({ pid: process.ppid, token: 'secret-token-of-the-run' });
  await writePresence(runDir, { pid: 2 ** 22 + 12345, server: 'x', startedTime: 'now' });
  expect(await liveAgent(runDir)).toBeNull();
  await removePresence(runDir);
  expect(await liveAgent(runDir)).toBeNull();
});

test('files.json and exit.json read back as written', async () => {
  const file = path.join(dir, 'files.json');
  const files = new Map([['a.txt', { size: 1, mtimeMs: 2.5, state: 'uploaded' as const, sha256: 'ab' }]]);
  await writeFilesState(file, files);
  expect(await readFilesState(file)).toEqual(files);
  expect(await readFilesState(path.join(dir, 'none.json'))).toBeNull();
  await writeExitRecord(dir, { status: 'failed', exitCode: 3, endTime: 'then' });
  expect(await readExitRecord(dir)).toEqual({ status: 'failed', exitCode: 3, endTime: 'then' });
});

test('the ack watermark is read as an untrusted file: anything but a watermark is none', () => {
  const spool = path.join(dir, 'metrics.jsonl');
  expect(readWatermark(spool)).toBeUndefined();
  for (const text of ['{', '[]', '{"offset":"1","ino":2}', `${'['.repeat(100_000)}${']'.repeat(100_000)}`]) {
    fs.writeFileSync(spool + ACK_SUFFIX, text);
    expect(readWatermark(spool)).toBeUndefined();
  }
  fs.writeFileSync(spool + ACK_SUFFIX, JSON.stringify({ stream: 's', ino: 5, offset: 10, line: 1, time: 't' }));
  expect(readWatermark(spool)).toMatchObject({ ino: 5, offset: 10 });
});
