/** The artifact-path rule the service, the CLI and the loggers share: relative, POSIX, confined to the run. */
import { artifactPathProblem, artifactPrefixProblem } from '../../src/protocol/artifact-path';

test.each([
  'outputs/model.json',
  'logs/run.log',
  'outputs/a/b/c/d.txt',
  'outputs/odd #1?/50%25 ü.bin', // taken as written: callers decode URLs once, before the check
  'outputs/..hidden', // ".." only as a whole segment escapes
  'outputs/.outpost-tmp-x', // the rule is about paths, not about which files the agent ships
  'x'.repeat(1024),
])('%s is allowed', (p) => {
  expect(artifactPathProblem(p)).toBeUndefined();
});

test.each([
  ['', 'path is empty'],
  ['x'.repeat(1025), 'path is longer than 1024 characters'],
  ['outputs/a\u0000b', 'path contains a NUL character'],
  ['outputs\\model.json', 'path contains a backslash'],
  ['/etc/passwd', 'path is absolute'],
  ['C:/Windows/win.ini', 'path starts with a drive letter'],
  ['outputs/a\nb', 'path contains a control character'],
  ['outputs/a\u001fb', 'path contains a control character'],
  ['outputs/a\u007fb', 'path contains a control character'],
  ['..', 'path escapes the run ("..")'],
  ['outputs/../../etc/passwd', 'path escapes the run ("..")'],
  ['outputs/a/..', 'path escapes the run ("..")'],
  ['outputs//a', 'path has an empty or "." segment'],
  ['outputs/./a', 'path has an empty or "." segment'],
  ['outputs/', 'path has an empty or "." segment'],
  ['.', 'path has an empty or "." segment'],
])('%j is refused: %s', (p, reason) => {
  expect(artifactPathProblem(p)).toBe(reason);
});

test('the length limit is the caller\'s (limits.maxArtifactPathChars)', () => {
  expect(artifactPathProblem('outputs/abc', 11)).toBeUndefined();
  expect(artifactPathProblem('outputs/abcd', 11)).toBe('path is longer than 11 characters');
});

test('a promotion prefix may be everything (""), or a path with or without a trailing "/"', () => {
  expect(artifactPrefixProblem('')).toBeUndefined();
  expect(artifactPrefixProblem('outputs')).toBeUndefined();
  expect(artifactPrefixProblem('outputs/')).toBeUndefined();
  expect(artifactPrefixProblem('outputs/model/')).toBeUndefined();
  expect(artifactPrefixProblem('/')).toBe('path is empty');
  expect(artifactPrefixProblem('outputs//')).toBe('path has an empty or "." segment');
  expect(artifactPrefixProblem('../outputs/')).toBe('path escapes the run ("..")');
  expect(artifactPrefixProblem('/outputs')).toBe('path is absolute');
});
