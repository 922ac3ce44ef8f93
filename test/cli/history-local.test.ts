import fs from 'fs';
import path from 'path';
import { startServerProcess, tempDir } from '../service/server-process';
import { WEIGHTS, runCli, seedProject } from './cli-fixture';

describe('outpost history and assets on the local store (no server)', () => {
  let project: string;
  let elsewhere: string;

  beforeAll(async () => {
    project = tempDir('outpost-cli-local-');
    elsewhere = tempDir('outpost-cli-elsewhere-');
    // The data is made by a real server over the project's .outpost/, which is then stopped.
    const server = await startServerProcess({ dataDir: path.join(project, '.outpost') });
    try {
      await seedProject(server.url);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });
  afterAll(() => {
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  test('in the project folder, list --json reads the local store', async () => {
    const r = await runCli(['history', 'list', '--json'], { cwd: project });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout).map((x: { id: string }) => x.id)).toEqual(['r-new', 'r-mid', 'r-old']);
  });

  test('a sub-folder of the project finds the store above it', async () => {
    const sub = path.join(project, 'src', 'deep');
    fs.mkdirSync(sub, { recursive: true });
    const r = await runCli(['history', 'info', '-r', 'r-old'], { cwd: sub });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^status\s+completed$/m);
    expect(r.stdout).toContain('artifacts (3, 1.5 MiB)');
  });

  test('--dir points at the project from anywhere', async () => {
    const [metric, last] = await Promise.all([
      runCli(['history', 'metric', '-r', 'r-old', 'train/loss', '--json', '--dir', project], { cwd: elsewhere }),
      runCli(['history', 'last', '--json', '--dir', project], { cwd: elsewhere }),
    ]);
    expect(JSON.parse(metric.stdout)).toEqual([
      { step: 10, time: 1735725605, value: 0.25 },
      { step: 11, time: 1735725606, value: 0.125 },
    ]);
    expect(JSON.parse(last.stdout).id).toBe('r-new');
  });

  test('a download from the local store has the same bytes', async () => {
    const r = await runCli(['history', 'info', '-r', 'r-old', '-a', 'outputs/model/weights.bin', '-o', 'w.bin', '--dir', project], { cwd: elsewhere });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(elsewhere, 'w.bin')).equals(WEIGHTS)).toBe(true);
  });

  test('promote works locally and assets show it', async () => {
    const p = await runCli(['history', 'promote', '-r', 'r-old', '-ap', 'outputs/model/', '-n', 'local-model'], { cwd: project });
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/to asset local-model version 1 \(2 files/);
    const show = await runCli(['assets', 'show', 'local-model', '--json'], { cwd: project });
    // Stored without the trailing slash: "outputs/model" and "outputs/model/" are one prefix.
    expect(JSON.parse(show.stdout).versions[0]).toMatchObject({ version: 1, sourceRun: 'r-old', prefix: 'outputs/model' });
  });

  test('not found is exit 1 locally too', async () => {
    const r = await runCli(['history', 'info', '-r', 'nope'], { cwd: project });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown run "nope"/);
  });

  test('without a store nearby, it says how to point at one (exit 1) and creates nothing', async () => {
    const [list, dir] = await Promise.all([
      runCli(['history', 'list'], { cwd: elsewhere }),
      runCli(['history', 'list', '--dir', path.join(elsewhere, 'missing')], { cwd: project }),
    ]);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/no local store: there is no \.outpost\/ in .* or above.*--server/);
    expect(fs.existsSync(path.join(elsewhere, '.outpost'))).toBe(false);
    expect(dir.code).toBe(1);
    expect(dir.stderr).toMatch(/--dir .*missing: no such folder/);
  });
});
