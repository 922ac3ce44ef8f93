/** A run's folder under <project>/.outpost/runs/<run>: where its spool, checkpoint and state live. */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import path from 'path';
import { OUTPOST_DIR, RUN_FILE, RUNS_DIR, RunFolderInfo, SPOOL_FILE } from '../protocol';
import { readJsonFile, writeFileAtomic } from './atomic-file';

export interface RunFolder extends RunFolderInfo {
  runDir: string;
  logsDir: string;
}

export function runsRoot(projectDir: string): string {
  return path.join(projectDir, OUTPOST_DIR, RUNS_DIR);
}

/** Like the Workbench's `<experiment>_<millis>`, plus a few random characters against collisions. */
export function newRunId(experiment: string, now = Date.now()): string {
  const slug = experiment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'run';
  return `${slug}_${now}_${randomBytes(2).toString('hex')}`;
}

export interface PrepareOptions {
  projectDir: string;
  runId?: string;
  experiment: string;
  name?: string;
  server: string | null;
  metricsFile?: string;
  outputsDir?: string;
}

/** Creates the folder and run.json, or reads them back when the run already has a folder here. */
export async function prepareRunFolder(o: PrepareOptions): Promise<RunFolder> {
  const id = o.runId ?? newRunId(o.experiment);
  const runDir = path.join(runsRoot(o.projectDir), id);
  const existing = await readJsonFile<RunFolderInfo>(path.join(runDir, RUN_FILE));
  if (existing) {
    return withDirs({ ...existing, metricsFile: o.metricsFile ? path.resolve(o.metricsFile) : existing.metricsFile }, runDir);
  }
  await fsp.mkdir(path.join(runDir, 'logs'), { recursive: true });
  const info: RunFolderInfo = {
    id,
    experiment: o.experiment,
    name: o.name ?? id,
    server: o.server,
    outputsDir: path.resolve(o.outputsDir ?? path.join(o.projectDir, 'outputs')),
    metricsFile: path.resolve(o.metricsFile ?? path.join(runDir, SPOOL_FILE)),
    createdTime: new Date().toISOString(),
  };
  await writeFileAtomic(path.join(runDir, RUN_FILE), JSON.stringify(info, null, 2));
  return withDirs(info, runDir);
}

export async function loadRunFolder(runDir: string): Promise<RunFolder | null> {
  const info = await readJsonFile<RunFolderInfo>(path.join(runDir, RUN_FILE));
  return info ? withDirs(info, runDir) : null;
}

function withDirs(info: RunFolderInfo, runDir: string): RunFolder {
  return { ...info, runDir, logsDir: path.join(runDir, 'logs') };
}
