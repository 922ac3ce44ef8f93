/** What `outpost run` records about where a run came from: host, folder, command, git commit. */
import { execFileSync } from 'child_process';
import os from 'os';

export interface GitFacts {
  gitCommit: string | null;
  gitDirty: boolean | null;
}

export function gitFacts(cwd: string): GitFacts {
  const git = (args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git(['rev-parse', 'HEAD']);
    // .outpost/ and outputs/ are the run's own doing, not the tree's.
    const dirty = git(['status', '--porcelain', '--', '.', ':(exclude).outpost', ':(exclude)outputs']).length > 0;
    return { gitCommit: commit, gitDirty: dirty };
  } catch {
    return { gitCommit: null, gitDirty: null };
  }
}

export function hostName(): string {
  return os.hostname();
}

/** An argument the shell reads as it is; any other is single-quoted. */
export const PLAIN_ARG = /^[A-Za-z0-9_./=:,@%+-]+$/;

/** A shell-readable rendering of argv. */
export function commandLine(argv: string[]): string {
  return argv.map((a) => (PLAIN_ARG.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
