/**
 * Artifact paths are relative, POSIX, and confined to the run: no "..", no absolute paths, no
 * NUL, no backslashes, no empty or "." segments. Callers decode URLs before checking, once.
 */
export function artifactPathProblem(path: string, maxChars = 1024): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'path is empty';
  if (path.length > maxChars) return `path is longer than ${maxChars} characters`;
  if (path.includes('\u0000')) return 'path contains a NUL character';
  if (path.includes('\\')) return 'path contains a backslash';
  if (path.startsWith('/')) return 'path is absolute';
  if (/^[A-Za-z]:/.test(path)) return 'path starts with a drive letter';
  if (/[\u0001-\u001f\u007f]/.test(path)) return 'path contains a control character';
  for (const segment of path.split('/')) {
    if (segment === '..') return 'path escapes the run ("..")';
    if (segment === '' || segment === '.') return 'path has an empty or "." segment';
  }
  return undefined;
}

/** A prefix for promotion: a path, or "" for everything; a trailing "/" is allowed. */
export function artifactPrefixProblem(prefix: string, maxChars = 1024): string | undefined {
  if (prefix === '') return undefined;
  return artifactPathProblem(prefix.replace(/\/$/, ''), maxChars);
}
