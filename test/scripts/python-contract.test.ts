/** The Python helper's _contract.py is made from config/ and src/run-folder: it must say what they say. */
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { CONTRACT_FILE, contractSections, pythonLiteral, renderContract } from '../../scripts/contract/python-contract';
import { repoRoot } from '../../scripts/docs/tables';
import { defaults } from '../../config';
import { ENV, SPOOL_FILE } from '../../src/run-folder';

const pythonDir = path.join(repoRoot(), 'src/client/python');

test('_contract.py is the one the TypeScript sources make (run `npm run generate` after changing a limit, a client setting or the run-folder layout)', () => {
  expect(fs.readFileSync(path.join(repoRoot(), CONTRACT_FILE), 'utf8')).toBe(renderContract());
});

test('Python reads from _contract.py the very values the TypeScript side has', () => {
  const entries = contractSections().flatMap((s) => s.entries);
  const code = `import json, outpost_logger._contract as c\nprint(json.dumps({n: getattr(c, n) for n in ${JSON.stringify(entries.map((e) => e.name))}}))`;
  const out = spawnSync('python3', ['-c', code], { env: { ...process.env, PYTHONPATH: pythonDir }, encoding: 'utf8' });
  expect(out.stderr).toBe('');
  const fromPython = JSON.parse(out.stdout) as Record<string, unknown>;
  for (const e of entries) expect([e.name, fromPython[e.name]]).toEqual([e.name, typeof e.value === 'object' ? e.value.seconds : e.value]);
  // A few by hand, so a mix-up in the table itself shows too.
  expect(fromPython).toMatchObject({
    MAX_LINE_BYTES: defaults.limits.maxLineBytes,
    MAX_PATH_CHARS: defaults.limits.maxArtifactPathChars,
    FLUSH_INTERVAL_S: defaults.client.flushIntervalMs / 1000,
    WAIT_TIMEOUT_S: defaults.client.waitTimeoutMs / 1000,
    ENV_STRICT_WAIT: ENV.strictWait,
    SPOOL_FILE,
  });
});

test('values are written as Python reads them: seconds as floats, booleans and strings as Python literals', () => {
  expect(pythonLiteral({ seconds: 60 })).toBe('60.0');
  expect(pythonLiteral({ seconds: 0.05 })).toBe('0.05');
  expect(pythonLiteral(1024)).toBe('1024');
  expect(pythonLiteral(false)).toBe('False');
  expect(pythonLiteral('a "quoted" \\ name')).toBe('"a \\"quoted\\" \\\\ name"');
  expect(() => pythonLiteral(0.5)).toThrow(/not an integer/);
});
