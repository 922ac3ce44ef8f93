/** run.json: a run's folder under <project>/.outpost/runs/<run>, made once, read back by every later agent and `outpost sync`. */
import { randomBytes } from 'crypto';
import fs, { promises as fsp } from 'fs';
import path from 'path';
import type { RunUpsert } from '../protocol';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import { OUTPOST_DIR, RUN_FILE, RunFacts, RUNS_DIR, RunFolderInfo, SPOOL_FILE } from './layout';
import { liveAgent } from './presence';

export interface RunFolder extends RunFolderInfo {
  outputsAllowedIn: string;
  runDir: string;
  logsDir: string;
  /** prepareRunFolder made it just now (a new run), rather than reading it back. */
  created?: boolean;
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
  /** outputsDir was named by the user (--outputs): it may lead anywhere, as it does now. */
  outputsExplicit?: boolean;
  /** Recorded in run.json for a later `outpost sync`. */
  facts?: RunFacts;
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
  const outputsDir = path.resolve(o.outputsDir ?? path.join(o.projectDir, 'outputs'));
  if (o.outputsExplicit) await fsp.mkdir(outputsDir, { recursive: true });
  const info: RunFolderInfo = {
    id,
    experiment: o.experiment,
    name: o.name ?? id,
    server: o.server,
    outputsDir,
    outputsAllowedIn: await fsp.realpath(o.outputsExplicit ? outputsDir : path.dirname(outputsDir)).catch(() => path.dirname(outputsDir)),
    metricsFile: path.resolve(o.metricsFile ?? path.join(runDir, SPOOL_FILE)),
    createdTime: o.facts?.startTime ?? new Date().toISOString(),
  };
  if (o.facts) info.facts = o.facts;
  await writeFileAtomic(path.join(runDir, RUN_FILE), JSON.stringify(info, null, 2));
  return { ...withDirs(info, runDir), created: true };
}

export async function loadRunFolder(runDir: string): Promise<RunFolder | null> {
  const info = await readJsonFile<RunFolderInfo>(path.join(runDir, RUN_FILE));
  return info ? withDirs(info, runDir) : null;
}

function withDirs(info: RunFolderInfo, runDir: string): RunFolder {
  return { ...info, outputsAllowedIn: info.outputsAllowedIn ?? path.dirname(info.outputsDir), runDir, logsDir: path.join(runDir, 'logs') };
}

/**
 * Other runs of this project whose agent is alive and whose outputs folder is the same folder as
 * `outputsDir`: each would take the other's files for its own.
 */
export async function liveRunsSharing(projectDir: string, outputsDir: string, selfId: string): Promise<{ id: string; pid: number }[]> {
  const root = runsRoot(projectDir);
  const same = (a: string, b: string) => {
    const ra = fs.existsSync(a) ? fs.realpathSync(a) : path.resolve(a);
    const rb = fs.existsSync(b) ? fs.realpathSync(b) : path.resolve(b);
    return ra === rb;
  };
  const out: { id: string; pid: number }[] = [];
  const names = await fsp.readdir(root).catch(() => [] as string[]);
  for (const id of names) {
    if (id === selfId) continue;
    const dir = path.join(root, id);
    const presence = await liveAgent(dir);
    if (!presence) continue;
    const info = await readJsonFile<RunFolderInfo>(path.join(dir, RUN_FILE)).catch(() => null);
    if (info && same(info.outputsDir, outputsDir)) out.push({ id, pid: presence.pid });
  }
  return out;
}

/** What registers a run folder's run, again, from what its run.json recorded (older folders: the creation time only). */
export function registrationOf(folder: RunFolderInfo): RunUpsert {
  return { experiment: folder.experiment, name: folder.name, startTime: folder.createdTime, ...folder.facts };
}
