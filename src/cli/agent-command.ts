/** `outpost agent`: the sync agent beside a process started some other way; SIGTERM finishes the sync. */
import path from 'path';
import type { Command } from 'commander';
import { startFolderAgent } from '../agent/agent';
import { hostName } from '../agent/run-facts';
import { prepareRunFolder } from '../agent/run-folder';
import { createLogger } from '../log/logger';
import { ID_PATTERN, RunUpsert } from '../protocol';
import { connect } from './connect';
import { CliError, EXIT_USAGE } from './exit-codes';
import { finishRun } from '../agent/run-ending';

interface AgentCommandOptions {
  run?: string;
  dir: string;
  metrics?: string;
  server?: string;
  experiment: string;
  name?: string;
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('sync a run whose process is started elsewhere; prints the new run id first when --run is not given')
    .option('--run <id>', 'the run to sync (default: create one and print its id)')
    .option('--dir <dir>', 'project folder (.outpost/ and outputs/)', '.')
    .option('--metrics <file>', 'the spool to tail (default: .outpost/runs/<run>/metrics.jsonl)')
    .option('--server <url>', 'history service (default: $OUTPOST_SERVER, else the local store)')
    .option('--experiment <name>', 'experiment of a new run', 'default')
    .option('--name <name>', 'name of a new run')
    .action(async (opts: AgentCommandOptions) => {
      // Listen before anything else: a SIGTERM during start-up must still end in a final sync.
      const stopRequested = new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      if (opts.run !== undefined && !new RegExp(ID_PATTERN).test(opts.run)) {
        throw new CliError(`--run "${opts.run}": a run id is 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`, EXIT_USAGE);
      }
      const log = createLogger('agent');
      const cwd = path.resolve(opts.dir);
      const conn = await connect({ server: opts.server, dir: cwd });
      const folder = await prepareRunFolder({
        projectDir: conn.projectDir,
        runId: opts.run,
        experiment: opts.experiment,
        name: opts.name,
        server: conn.local ? null : conn.url,
        metricsFile: opts.metrics,
        outputsDir: path.join(cwd, 'outputs'),
      });
      if (!opts.run) process.stdout.write(`${folder.id}\n`);
      const started = new Date();
      // An existing run keeps its facts; a new one gets them here. Its log is its own business.
      const run: RunUpsert = opts.run
        ? { status: 'running' }
        : { experiment: folder.experiment, name: folder.name, status: 'running', startTime: started.toISOString(), cwd, host: hostName() };
      const agent = await startFolderAgent(folder, conn, log, run, { logs: false });
      log.info(`agent syncing run ${folder.id}: spool ${folder.metricsFile}, outputs ${folder.outputsDir}`);
      await stopRequested;
      log.info('finishing the sync');
      const ok = await finishRun(agent, folder, { status: 'completed', exitCode: null, endTime: new Date().toISOString() }, started);
      await conn.close();
      process.exitCode = ok ? 0 : 1;
    });
}
