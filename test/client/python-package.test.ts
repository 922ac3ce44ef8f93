/**
 * The Python helper installed as a package: `pip install "$(outpost python-path)"` into a fresh
 * virtualenv, then a script doing `import outpost_logger` under the real `outpost run` (local
 * mode), with `python -I` so that the installed copy is imported, not the one on PYTHONPATH.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { repoRoot } from './client-helpers';

const outpost = path.join(repoRoot, 'bin/outpost.js');

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' };
  for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER', 'OUTPOST_CONFIG', 'OUTPOST_TOKEN']) delete env[k];
  return env;
}

/**
 * The package indexes pip is configured with, as --index-url / --extra-index-url: where the public
 * index cannot be reached (these machines carry a mirror), pip would otherwise try it first and
 * spend minutes in retries. No configured index: pip's own default.
 */
function indexArgs(pip: string, env: NodeJS.ProcessEnv): string[] {
  const listed = spawnSync(pip, ['config', 'list'], { env, encoding: 'utf8' }).stdout ?? '';
  const urls = (key: string) => [...listed.matchAll(new RegExp(`^[^\\n]*\\.${key}='([^']*)'$`, 'gm'))].flatMap((m) => m[1].split(/\s+/).filter(Boolean));
  const all = [...new Set([...urls('index-url'), ...urls('extra-index-url')])];
  return all.length ? ['--index-url', all[0], ...all.slice(1).flatMap((u) => ['--extra-index-url', u])] : [];
}

test('pip install "$(outpost python-path)" into a fresh virtualenv; a script importing outpost_logger from it logs under outpost run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-pip-'));
  const env = cleanEnv();
  const venv = path.join(dir, 'venv');
  const made = spawnSync('python3', ['-m', 'venv', venv], { env, encoding: 'utf8', timeout: 60_000 });
  expect(made.stderr).toBe('');
  const pip = path.join(venv, 'bin', 'pip');
  const python = path.join(venv, 'bin', 'python');

  const helper = spawnSync(process.execPath, [outpost, 'python-path'], { env, encoding: 'utf8' }).stdout.trim();
  const before = fs.readdirSync(helper).sort();
  const installed = spawnSync(pip, ['install', '--quiet', ...indexArgs(pip, env), helper], { env, encoding: 'utf8', timeout: 120_000 });
  expect(installed.stderr.split('\n').filter((l) => /error/i.test(l))).toEqual([]);
  expect(installed.status).toBe(0);
  // Built out of tree: nothing (build/, *.egg-info) is left beside the sources, which may be read-only.
  expect(fs.readdirSync(helper).sort()).toEqual(before);

  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'train.py'),
    `import outpost_logger
print(outpost_logger.__file__, outpost_logger.__version__)
logger = outpost_logger.get_logger()
for step in range(3):
    logger.log("loss", 1.0 / (step + 1), step=step)
logger.log_metrics({"accuracy": 0.9, "epoch": 3}, step=3).wait(strict=True)
logger.upload("notes.txt", "installed")
`,
  );
  const run = spawnSync(process.execPath, [outpost, 'run', '--experiment', 'pip', '--', python, '-I', 'train.py'], { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(0);
  const [file, version] = run.stdout.split('\n').find((l) => l.includes('outpost_logger'))!.split(' ');
  expect(file.startsWith(path.join(venv, 'lib'))).toBe(true);
  expect(version).toBe(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);

  const cli = (args: string[]) => JSON.parse(spawnSync(process.execPath, [outpost, 'history', ...args, '--json'], { cwd: project, env, encoding: 'utf8', timeout: 60_000 }).stdout);
  const [{ id }] = cli(['list']);
  const info = cli(['info', '-r', id]);
  expect(info).toMatchObject({
    experiment: 'pip',
    status: 'completed',
    metrics: { loss: { count: 3, last: 1 / 3 }, accuracy: { count: 1, last: 0.9 }, epoch: { count: 1, last: 3 } },
  });
  expect(info.artifacts.map((a: { path: string }) => a.path)).toContain('outputs/notes.txt');
});

test('the npm package carries the Python helper as a package (pyproject.toml, setup.py, outpost_logger/), without compiled caches', () => {
  // Importing it from src/ (as the other tests do) leaves __pycache__ folders beside the sources.
  spawnSync('python3', ['-c', 'import outpost_logger'], { env: { ...cleanEnv(), PYTHONPATH: path.join(repoRoot, 'src/client/python') } });
  const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
  const python = files.map((f) => f.path).filter((p) => p.startsWith('src/client/python/')).sort();
  expect(python).toContain('src/client/python/pyproject.toml');
  expect(python).toContain('src/client/python/setup.py');
  expect(python).toContain('src/client/python/outpost_logger/__init__.py');
  expect(python).toContain('src/client/python/outpost_logger/_contract.py');
  expect(python.filter((p) => p.includes('__pycache__'))).toEqual([]);
});
