/** scripts/test-summary.js: npm test's last line counts jest's and pytest's results together, and fails if either failed. */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { repoRoot } from '../../scripts/docs/tables';

const summary = path.join(repoRoot(), 'scripts/test-summary.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-summary-'));

/** jest --json as it writes it (the fields the summary reads). */
function jestResults(passed: number, failed: number, skipped = 0): string {
  const file = path.join(dir, `jest-${passed}-${failed}-${skipped}.json`);
  const status = failed ? 'failed' : 'passed';
  fs.writeFileSync(file, JSON.stringify({
    numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped, numTodoTests: 0, numTotalTests: passed + failed + skipped,
    testResults: [{ status, assertionResults: [{ status }] }],
  }));
  return file;
}

/** What the real pytest writes with --junitxml for these tests. */
function pytestResults(name: string, tests: string): string {
  const folder = path.join(dir, name);
  fs.mkdirSync(folder);
  if (tests) fs.writeFileSync(path.join(folder, 'test_it.py'), tests);
  const xml = path.join(dir, `${name}.xml`);
  spawnSync('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', folder, `--junitxml=${xml}`], { encoding: 'utf8' });
  return xml;
}

function run(jest: string, junit: string) {
  const out = spawnSync(process.execPath, [summary, jest, junit], { encoding: 'utf8' });
  return { status: out.status, lines: out.stdout.trim().split('\n') };
}

const mixed = `
import pytest
def test_ok(): pass
def test_ok_too(): pass
def test_bad(): assert 0
@pytest.mark.skip
def test_skipped(): pass
@pytest.fixture
def broken(): raise RuntimeError("fixture")
def test_error(broken): pass
`;

const ok = pytestResults('ok', 'def test_a(): pass\ndef test_b(): pass\n');

test('the last line adds both runners up; each runner has its line before it', () => {
  expect(run(jestResults(10, 0, 2), ok)).toEqual({ status: 0, lines: ['jest: 10 passed, 0 failed, 2 skipped', 'pytest: 2 passed, 0 failed', '12 passed, 0 failed, 2 skipped'] });
});

test('a pytest failure or error (a test, a fixture, a file that does not import) fails the run', () => {
  expect(run(jestResults(10, 0), pytestResults('mixed', mixed))).toEqual({ status: 1, lines: ['jest: 10 passed, 0 failed', 'pytest: 2 passed, 2 failed, 1 skipped', '12 passed, 2 failed, 1 skipped'] });
  expect(run(jestResults(10, 0), pytestResults('broken', 'x = (\n')).lines[2]).toBe('10 passed, 1 failed');
  expect(run(jestResults(3, 1), ok)).toEqual({ status: 1, lines: ['jest: 3 passed, 1 failed', 'pytest: 2 passed, 0 failed', '5 passed, 1 failed'] });
});

test('no results, or no test run, is a failure: it proves nothing', () => {
  expect(run(jestResults(10, 0), pytestResults('empty', '')).lines[2]).toBe('10 passed, 1 failed');
  expect(run(jestResults(10, 0), path.join(dir, 'absent.xml'))).toMatchObject({ status: 1, lines: ['jest: 10 passed, 0 failed', 'pytest: 0 passed, 1 failed', '10 passed, 1 failed'] });
  expect(run(path.join(dir, 'absent.json'), ok).lines[2]).toBe('2 passed, 1 failed');
});
