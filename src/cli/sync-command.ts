/** `outpost sync [D]`: ships what offline or crashed runs left behind, marks them, exits. Idempotent. */
import fs, { promises as fsp } from 'fs';
import path from 'path';
import type { Command } from 'commander';
import { settings } from '../../config';
import { startFolderAgent } from '../agent/agent';
import { createLogger } from '../log/logger';
import { connect, Connection } from './connect';
import { parseRunId } from './parse';
import { CliError } from './exit-codes';
import { finishRun, shipped } from '../agent/run-ending';
import { isFinal, liveAgent, loadRunFolder, readExitRecord, registrationOf, RUN_FILE, RunFolder, runsRoot, SPOOL_FILE } from '../run-folder';

/** What finishes what this sync could not: itself, later. */
const SYNC_AGAIN = 'running `outpost sync` again once the service can be reached';

export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('ship what offline or crashed runs left in .outpost/runs, then mark them and exit')
    .argument('[dir]', 'project folder', '.')
    .option('--server <url>', 'history service (default: the one each run used, else the local store)')
    .option('--run <id>', 'only this run', parseRunId)
    .action(async (dir: string, opts: { server?: string; run?: string }) => {
      process.exitCode = await syncAll(path.resolve(dir), opts);
    });
}

async function syncAll(dir: string, opts: { server?: string; run?: string }): Promise<number> {
  const log = createLogger('agent', process.env.OUTPOST_LOG_LEVEL ?? 'warn');
  const root = runsRoot(dir);
  const ids = opts.run ? [opts.run] : await runFolderNames(root);
  if (!opts.run) await warnAboutStraySpools(root);
  const connections = new Map<string, Connection>();
  let failures = 0;
  try {
    for (const id of ids.sort()) {
      const folder = await loadRunFolder(path.join(root, id)).catch((err: Error) => err);
      if (folder instanceof Error || !folder) {
        // One unreadable run must not keep the others from syncing.
        if (folder) process.stderr.write(`outpost: run ${id}: ${folder.message}; skipped\n`);
        if (opts.run) throw new CliError(`no readable run folder ${path.join(root, id)}`);
        if (folder) failures++;
        continue;
      }
      const presence = await liveAgent(folder.runDir);
      if (presence) {
        process.stderr.write(`outpost: run ${id}: an agent (pid ${presence.pid}) is syncing it; skipped\n`);
        continue;
      }
      const server = opts.server ?? folder.server ?? undefined;
      const key = server ?? '(local)';
      let conn = connections.get(key);
      if (!conn) {
        conn = await connect({ server, dir });
        connections.set(key, conn);
      }
      const final = await isFinal(folder.runDir);
      const exit = await readExitRecord(folder.runDir);
      if (final) {
        // Already marked, and its outputs/ went at its end: what is there now belongs to later
        // runs. Only lines appended to its spool since (normally none) are shipped.
        const agent = await startFolderAgent(folder, conn, log, {}, { outputs: false, logs: false, laterHint: SYNC_AGAIN });
        const r = await agent.finish(settings.agent.finalSyncGraceMs);
        const p = agent.progress;
        if (!r.synced) failures++;
        process.stderr.write(`outpost: run ${id}: ${p.linesAcked ? shipped(p) : 'up to date'}\n`);
        continue;
      }
      const cutoff = exit ? Date.parse(exit.endTime) : await nextRunStart(root, folder);
      // The facts run.json recorded: an offline run, or one whose service was down all along, is
      // registered only now, and must not start at the time of this sync.
      const agent = await startFolderAgent(folder, conn, log, registrationOf(folder), { outputsModifiedBefore: cutoff, laterHint: SYNC_AGAIN });
      const grace = settings.agent.finalSyncGraceMs;
      // No exit record: the run's process and its agent died without saying how it ended.
      const end = exit ?? { status: 'killed' as const, exitCode: null, endTime: new Date().toISOString() };
      if (!(await finishRun(agent, folder, end, undefined, grace, `${SYNC_AGAIN} ships them`))) failures++;
    }
  } finally {
    for (const c of connections.values()) await c.close();
  }
  return failures ? 1 : 0;
}

/**
 * Spools no run folder owns (`.outpost/runs/metrics.jsonl`, written with an empty run id; a
 * folder without run.json): never shipped, so said, with how to ship one.
 */
async function warnAboutStraySpools(root: string): Promise<void> {
  const entries = await fsp.readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const full = path.join(root, e.name);
    let spool: string | null = null;
    if (e.isFile() && e.name.endsWith('.jsonl')) spool = full;
    else if (e.isDirectory() && !fs.existsSync(path.join(full, RUN_FILE)) && fs.existsSync(path.join(full, SPOOL_FILE))) spool = path.join(full, SPOOL_FILE);
    if (!spool) continue;
    process.stderr.write(
      `outpost: warning: ${spool} is a spool that no run folder owns (was OUTPOST_METRICS_FILE built from an empty run id?); it is not shipped. ` +
        `To ship it: outpost agent --run NEW_ID --metrics ${spool}, then end that agent with SIGTERM\n`,
    );
  }
}

async function runFolderNames(root: string): Promise<string[]> {
  const entries = await fsp.readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/**
 * When a run died without an exit record, files in its outputs/ changed after the next run
 * (sharing that folder) began are that run's, not this one's.
 */
async function nextRunStart(root: string, run: RunFolder): Promise<number | undefined> {
  let next: number | undefined;
  const mine = Date.parse(run.createdTime);
  for (const id of await runFolderNames(root)) {
    const other = await loadRunFolder(path.join(root, id)).catch(() => null);
    if (!other || other.id === run.id || other.outputsDir !== run.outputsDir) continue;
    const t = Date.parse(other.createdTime);
    if (t > mine && (next === undefined || t < next)) next = t;
  }
  return next;
}
