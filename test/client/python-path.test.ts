import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { pythonHelperDir } from '../../src/client/python-path';
import { repoRoot } from './client-helpers';

test('outpost python-path prints the folder of the outpost_logger package (pyproject.toml beside it), importable from there', () => {
  const out = spawnSync(process.execPath, [path.join(repoRoot, 'bin/outpost.js'), 'python-path'], { encoding: 'utf8' });
  expect(out.status).toBe(0);
  const dir = out.stdout.trim();
  expect(dir).toBe(pythonHelperDir());
  expect(fs.existsSync(path.join(dir, 'outpost_logger', '__init__.py'))).toBe(true);
  expect(fs.existsSync(path.join(dir, 'pyproject.toml'))).toBe(true);
  const py = spawnSync('python3', ['-c', 'import outpost_logger; print(outpost_logger.get_logger.__name__)'], { env: { ...process.env, PYTHONPATH: dir }, encoding: 'utf8' });
  expect(py.stdout.trim()).toBe('get_logger');
});

test('the package entry point (package.json "main") exports getLogger', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  expect(pkg.main).toBe('dist/src/client/index.js');
  expect(typeof require(path.join(repoRoot, pkg.main)).getLogger).toBe('function');
  expect(fs.existsSync(path.join(repoRoot, pkg.types))).toBe(true);
});
