/**
 * The virtualenv of the framework tests (torch CPU, lightning, tensorboard, keras), which
 * scripts/test.sh makes before jest (scripts/framework-venv.sh). Without it the tests are skipped,
 * loudly; under CI=true its absence is a failure, never a skip.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';

const VENV = path.join(__dirname, '..', '..', '.venv-frameworks');

export function frameworkPython(): string | null {
  const python = path.join(VENV, 'bin', 'python');
  return fs.existsSync(path.join(VENV, '.complete')) && fs.existsSync(python) ? python : null;
}

/** `describe` for tests that need the frameworks: `python` is the virtualenv's. */
export function describeWithFrameworks(name: string, body: (python: string) => void): void {
  const python = frameworkPython();
  if (python) {
    describe(name, () => body(python));
    return;
  }
  const why = `the framework virtualenv ${VENV} is missing or incomplete: scripts/test.sh makes it (bash scripts/framework-venv.sh)`;
  if (process.env.CI === 'true') {
    describe(name, () => test('has its frameworks', () => {
      throw new Error(why);
    }));
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(`skipped: ${name}: ${why}`);
  describe.skip(name, () => body(''));
}

export interface Oracle {
  /** Event file (relative to outputs/) -> tag -> [step, value, wall_time] as TensorBoard's EventAccumulator reads them. */
  events: Record<string, Record<string, [number, number | string | boolean, number][]>>;
  /** CSV file -> its header and rows, as Python's csv module reads them. */
  csv: Record<string, { header: string[]; rows: string[][] }>;
}

/** What TensorBoard's own reader and Python's csv module find under `outputs`. */
export function readOracle(python: string, outputs: string): Oracle {
  const out = spawnSync(python, [path.join(__dirname, 'scripts', 'oracle.py'), outputs], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  if (out.status !== 0) throw new Error(`oracle.py failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as Oracle;
}
