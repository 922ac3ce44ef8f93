/**
 * `outpost agent`: the sync agent beside a process started some other way; SIGTERM finishes the
 * sync. `--detach` starts it in the background and returns once it runs, printing the run's
 * environment for `eval`; `--stop` ends a detached agent's run and waits for its final sync.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import type { Command } from 'commander';
import { settings } from '../../config';
import { startFolderAgent } from '../agent/agent';
import { commandLine, hostName } from '../agent/run-facts';
import { finishRun } from '../agent/run-ending';
import { createLogger } from '../log/logger';
import { connect } from './connect';
import { CliError, EXIT_REFUSED, EXIT_USAGE } from './exit-codes';
import { parseRunId } from './parse';
import { warnIfShared } from './run-command';
import { AGENT_FILE, AgentPresence, DEFAULT_EXPERIMENT, ENV, FINAL_FILE, findProjectDir, isProcessAlive, newRunId, prepareRunFolder, registrationOf, runsRoot } from '../run-folder';

interface AgentCommandOptions {
  run?: string;
  dir: string;
  metrics?: string;
  outputs?: string;
  server?: string;
  experiment: string;
  name?: string;
  detach?: boolean;
  stop?: boolean;
  /** Internal (set by --detach): print the environment once running, then close stdout. */
  announce?: boolean;
  /** false with --no-system-metrics. */
  systemMetrics: boolean;
  /** The job's process, whose tree's load is sampled. */
  pid?: number;
}

/** A detached agent's output goes here, in its run folder. */
export const AGENT_LOG = 'agent.log';

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('sync a run whose process is started elsewhere; prints the new run id first when --run is not given')
    .option('--run <id>', 'the run to sync (default: create one and print its id)', parseRunId)
    .option('--dir <dir>', 'project folder (.outpost/ and outputs/)', '.')
    .option('--metrics <file>', 'the spool to tail (default: .outpost/runs/<run>/metrics.jsonl)')
    .option('--outputs <dir>', "the folder whose files are the run's artifacts (default: $OUTPOST_OUTPUTS_DIR, else outputs/ in --dir)")
    .option('--server <url>', 'history service (default: $OUTPOST_SERVER, else the local store)')
    .option('--experiment <name>', 'experiment of a new run', DEFAULT_EXPERIMENT)
    .option('--name <name>', 'name of a new run')
    .option('--detach', 'run in the background; return once it runs, printing the run\'s environment as shell exports (eval "$(outpost agent --detach)")')
    .option('--stop', 'end the run of a detached agent (--run, else $OUTPOST_RUN_ID): final sync, run marked completed; waits for it')
    .option('--pid <pid>', "the job's process: its tree's CPU and memory are sampled with the machine's (system/process/...)", parsePid)
    .option('--no-system-metrics', "do not sample the machine's load (system/... metrics)")
    .addOption(hiddenOption(program, '--announce'))
    .action(async (opts: AgentCommandOptions) => {
      if (opts.detach && opts.stop) throw new CliError('--detach and --stop cannot be combined', EXIT_USAGE);
      if (opts.stop) return void (process.exitCode = await stopAgent(opts));
      if (opts.detach) return void (process.exitCode = await detachAgent(opts));
      await runAgent(opts);
    });
}

function parsePid(value: string): number {
  const pid = Number(value);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new CliError(`--pid ${value}: not a process id`, EXIT_USAGE);
  return pid;
}

function hiddenOption(program: Command, flags: string) {
  return program.createOption(flags).hideHelp();
}

async function runAgent(opts: AgentCommandOptions): Promise<void> {
  // Listen before anything else: a SIGTERM during start-up must still end in a final sync.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  const log = createLogger('agent');
  const cwd = path.resolve(opts.dir);
  const conn = await connect({ server: opts.server, dir: cwd });
  const outputs = opts.outputs ?? (process.env[ENV.outputsDir] || undefined);
  const started = new Date();
  const folder = await prepareRunFolder({
    projectDir: conn.projectDir,
    runId: opts.run,
    experiment: opts.experiment,
    name: opts.name,
    server: conn.local ? null : conn.url,
    metricsFile: opts.metrics,
    outputsDir: outputs === undefined ? path.join(cwd, 'outputs') : path.resolve(outputs),
    outputsExplicit: outputs !== undefined,
    facts: { startTime: started.toISOString(), cwd, host: hostName() },
  });
  if (!opts.run && !opts.announce) process.stdout.write(`${folder.id}\n`);
  await warnIfShared(conn.projectDir, folder.outputsDir, folder.id);
  // A new run gets its facts here; an existing one keeps its own. Its log is its own business.
  const run = folder.created ? { ...registrationOf(folder), status: 'running' as const } : { status: 'running' as const };
  const agent = await startFolderAgent(folder, conn, log, run, { logs: false, systemMetrics: opts.systemMetrics });
  if (opts.pid !== undefined) agent.watchProcess(opts.pid);
  log.info(`agent syncing run ${folder.id}: spool ${folder.metricsFile}, outputs ${folder.outputsDir}`);
  if (opts.announce) {
    const env: [string, string][] = [
      [ENV.runId, folder.id],
      [ENV.metricsFile, folder.metricsFile],
      [ENV.outputsDir, folder.outputsDir],
      ['OUTPOST_AGENT_PID', String(process.pid)],
    ];
    if (!conn.local) env.push([ENV.server, conn.url]);
    process.stdout.end(env.map(([k, v]) => `export ${k}=${commandLine([v])}\n`).join(''));
  }
  await stopRequested;
  log.info('finishing the sync');
  const ok = await finishRun(agent, folder, { status: 'completed', exitCode: null, endTime: new Date().toISOString() }, started);
  await conn.close();
  process.exitCode = ok ? 0 : 1;
}

/**
 * Starts this same command in the background (its output in the run folder's agent.log) and
 * returns once the agent runs: then the spool and outputs/ it watches are settled, so a job
 * started next loses nothing, whatever the machine's load.
 */
async function detachAgent(opts: AgentCommandOptions): Promise<number> {
  const projectDir = findProjectDir(path.resolve(opts.dir));
  const runId = opts.run ?? newRunId(opts.experiment);
  const runDir = path.join(runsRoot(projectDir), runId);
  fs.mkdirSync(runDir, { recursive: true });
  const logFile = path.join(runDir, AGENT_LOG);
  const logFd = fs.openSync(logFile, 'a');
  const args = process.argv.slice(2).filter((a) => a !== '--detach');
  if (!opts.run) args.push('--run', runId);
  args.push('--announce');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args], { detached: true, stdio: ['ignore', 'pipe', logFd] });
  fs.closeSync(logFd);
  let announced = '';
  child.stdout!.on('data', (d: Buffer) => (announced += d.toString()));
  const outcome = await new Promise<'ready' | 'exited'>((resolve) => {
    child.stdout!.once('end', () => resolve('ready'));
    child.once('exit', () => resolve('exited'));
  });
  if (outcome === 'exited' || !announced.includes(`${ENV.runId}=`)) {
    const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
    throw new CliError(`the agent did not start (its log, ${logFile}):\n${tail}`);
  }
  child.unref();
  process.stdout.write(announced);
  process.stderr.write(`outpost: agent ${child.pid} syncing run ${runId} in the background (log: ${logFile}); end it with \`outpost agent --stop\`\n`);
  return 0;
}

/** SIGTERM to the run's agent, then waits until it has exited; says how the run ended. */
async function stopAgent(opts: AgentCommandOptions): Promise<number> {
  const runId = opts.run ?? process.env[ENV.runId];
  if (!runId) throw new CliError('--stop needs the run: --run ID, or OUTPOST_RUN_ID set (as `eval "$(outpost agent --detach)"` does)', EXIT_USAGE);
  try {
    parseRunId(runId);
  } catch (err) {
    throw new CliError(`${opts.run ? '--run' : ENV.runId}: ${(err as Error).message}`, EXIT_USAGE);
  }
  const runDir = path.join(runsRoot(findProjectDir(path.resolve(opts.dir))), runId);
  let presence: AgentPresence;
  try {
    presence = JSON.parse(fs.readFileSync(path.join(runDir, AGENT_FILE), 'utf8')) as AgentPresence;
  } catch {
    if (fs.existsSync(path.join(runDir, FINAL_FILE))) throw new CliError(`run ${runId} has ended already: no agent is syncing it`, EXIT_REFUSED);
    throw new CliError(`no agent is syncing run ${runId} (no ${path.join(runDir, AGENT_FILE)})`, EXIT_REFUSED);
  }
  if (!isProcessAlive(presence.pid)) throw new CliError(`the agent of run ${runId} (pid ${presence.pid}) has exited already; \`outpost sync\` ships what it left`, EXIT_REFUSED);
  process.kill(presence.pid, 'SIGTERM');
  const deadline = Date.now() + settings.agent.finalSyncGraceMs + 30_000;
  while (isProcessAlive(presence.pid)) {
    if (Date.now() > deadline) throw new CliError(`the agent of run ${runId} (pid ${presence.pid}) is still finishing; see ${path.join(runDir, AGENT_LOG)}`, EXIT_REFUSED);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The agent's own last line says what was shipped (or kept on disk).
  const logFile = path.join(runDir, AGENT_LOG);
  const last = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith(`outpost: run ${runId} `)).pop() : undefined;
  if (last) process.stderr.write(`${last}\n`);
  return fs.existsSync(path.join(runDir, FINAL_FILE)) ? 0 : 1;
}
