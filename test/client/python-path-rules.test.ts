/** The Python helper's artifact path rules are the protocol's (src/protocol/artifact-path.ts): what one accepts, the service accepts. */
import { spawnSync } from 'child_process';
import { defaults } from '../../config';
import { artifactPathProblem } from '../../src/protocol/artifact-path';
import { pythonDir } from './client-helpers';

const paths = [
  'model.json', 'a/b/c.txt', 'x'.repeat(1024), 'x'.repeat(1025), '\u{1F600}'.repeat(512), '\u{1F600}'.repeat(513),
  '', '/etc/passwd', '../escape', 'a/../b', 'a//b', './a', 'a/.', 'a\\b', 'a\u0000b', 'a\u0001b', 'a\u007fb', 'tab\there',
  'C:x', 'z:/x', '\u00e9:x', '\u0394:x', '1:x', 'a:b', '\u00e9t\u00e9/\u{1F600}.txt',
];

test('for every rule, the Python helper and the protocol give the same verdict, word for word', () => {
  const code = 'import json, sys\nfrom outpost_logger._upload import artifact_path_problem\nprint(json.dumps([artifact_path_problem(p) for p in json.load(sys.stdin)]))';
  const out = spawnSync('python3', ['-c', code], { input: JSON.stringify(paths), env: { ...process.env, PYTHONPATH: pythonDir }, encoding: 'utf8' });
  expect(out.stderr).toBe('');
  const fromPython = JSON.parse(out.stdout) as (string | null)[];
  const fromProtocol = paths.map((p) => artifactPathProblem(p, defaults.limits.maxArtifactPathChars) ?? null);
  expect(paths.map((p, i) => [p.slice(0, 20), fromPython[i]])).toEqual(paths.map((p, i) => [p.slice(0, 20), fromProtocol[i]]));
});
