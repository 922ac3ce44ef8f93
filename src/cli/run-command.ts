/**
 * `outpost run -- COMMAND`: creates the run, starts the agent, runs COMMAND with OUTPOST_* set,
 * keeps its output as the run's log, then syncs, marks the run, and exits with COMMAND's code.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { type Command, InvalidArgumentError } from 'commander';
import { startFolderAgent } from '../agent/agent';
import { commandLine, gitFacts, hostName } from '../agent/run-facts';
import { encodeParams, encodeTags } from '../client/encode-metric-line';
import { pythonHelperDir } from '../client/python-path';
import { createLogger } from '../log/logger';
import type { ParamValue, RunStatus } from '../protocol';
import { connect } from './connect';
import { CliError, EXIT_USAGE } from './exit-codes';
import { finishRun } from '../agent/run-ending';
import { DEFAULT_EXPERIMENT, ENV, liveRunsSharing, prepareRunFolder, registrationOf, RunFacts, writeExitRecord } from '../run-folder';

interface RunOptions {
  experiment: string;
  name?: string;
  server?: string;
  dir: string;
  outputs?: string;
  param: [string, ParamValue][];
  tag: [string, string][];
  note?: string;
  /** false with --no-system-metrics. */
  systemMetrics: boolean;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run COMMAND as a tracked run: metrics and outputs/ synced to the history')
    .option('--experiment <name>', 'experiment the run belongs to', DEFAULT_EXPERIMENT)
    .option('--name <name>', 'a name for the run (default: its id)')
    .option('--server <url>', 'history service (default: $OUTPOST_SERVER, else the local store .outpost/)')
    .option('--dir <dir>', 'working folder: the command runs here; .outpost/ and outputs/ live here', '.')
    .option('--outputs <dir>', "the folder whose files are the run's artifacts (default: outputs/ in the working folder); given to COMMAND as OUTPOST_OUTPUTS_DIR")
    .option('--param <k=v>', 'a param of the run (repeatable); a number, true, false or a JSON list, else text', collectParam, [])
    .option('--tag <k=v>', 'a tag of the run (repeatable)', collectTag, [])
    .option('--note <text>', 'a note about the run (Markdown)')
    .option('--no-system-metrics', "do not sample the machine's and the command's load (system/... metrics)")
    .argument('<command...>', 'the command to run, after --')
    .passThroughOptions()
    .action(async (argv: string[], opts: RunOptions) => {
      process.exitCode = await runCommand(argv, opts);
    });
}

async function runCommand(argv: string[], opts: RunOptions): Promise<number> {
  const log = createLogger('agent', process.env.OUTPOST_LOG_LEVEL ?? 'warn');
  const cwd = path.resolve(opts.dir);
  if (!fs.existsSync(cwd)) throw new CliError(`--dir ${opts.dir}: no such folder`, EXIT_USAGE);
  // Lines of the spool like any job's (exactly once, in order, a param keeping its first value),
  // checked as the loggers check them: a bad --param or --tag stops here, not as a rejected line.
  const metaLines: string[] = [];
  try {
    if (opts.param.length) metaLines.push(encodeParams(Object.fromEntries(opts.param)));
    if (opts.tag.length) metaLines.push(encodeTags(Object.fromEntries(opts.tag)));
  } catch (err) {
    throw new CliError(`--param/--tag: ${(err as Error).message}`, EXIT_USAGE);
  }
  const conn = await connect({ server: opts.server, dir: cwd });
  const started = new Date();
  const facts: RunFacts = { startTime: started.toISOString(), command: commandLine(argv), cwd, host: hostName(), ...gitFacts(cwd) };
  if (opts.note !== undefined) facts.note = opts.note;
  const folder = await prepareRunFolder({
    projectDir: conn.projectDir,
    experiment: opts.experiment,
    name: opts.name,
    server: conn.local ? null : conn.url,
    outputsDir: opts.outputs === undefined ? path.join(cwd, 'outputs') : path.resolve(opts.outputs),
    outputsExplicit: opts.outputs !== undefined,
    facts,
  });
  fs.mkdirSync(folder.outputsDir, { recursive: true });
  if (metaLines.length) fs.appendFileSync(folder.metricsFile, metaLines.join(''));
  await warnIfShared(conn.projectDir, folder.outputsDir, folder.id);
  const agent = await startFolderAgent(folder, conn, log, { ...registrationOf(folder), status: 'running' }, { systemMetrics: opts.systemMetrics });
  process.stderr.write(`outpost: run ${folder.id} started (${conn.local ? `local store ${path.join(conn.projectDir, '.outpost')}` : conn.url})\n`);

  const { status, exitCode, signal } = await spawnTracked(argv, cwd, folder, conn.local ? undefined : conn.url, (pid) => agent.watchProcess(pid));
  const end = { status, exitCode, endTime: new Date().toISOString() };
  await writeExitRecord(folder.runDir, end);
  const what = signal ? `killed by ${signal}` : `exited with ${exitCode}`;
  process.stderr.write(`outpost: command ${what}; syncing...\n`);
  await finishRun(agent, folder, end, started);
  await conn.close();
  return signal ? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0) : (exitCode ?? 1);
}

/** Two live runs on one outputs/ folder each record the other's files: said at the start, with the way out. */
export async function warnIfShared(projectDir: string, outputsDir: string, selfId: string): Promise<void> {
  const others = await liveRunsSharing(projectDir, outputsDir, selfId);
  if (others.length === 0) return;
  const which = others.map((o) => `${o.id} (pid ${o.pid})`).join(', ');
  process.stderr.write(
    `outpost: warning: run${others.length === 1 ? '' : 's'} ${which} ${others.length === 1 ? 'is' : 'are'} running with the same outputs folder ${outputsDir}; ` +
      `each run records the files the others write there. Give each run its own: outpost run --outputs DIR\n`,
  );
}

interface Ended {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
}

/** Spawns COMMAND with stdin passed through and stdout/stderr both shown and kept in the run's log. */
function spawnTracked(
  argv: string[],
  cwd: string,
  folder: { id: string; metricsFile: string; outputsDir: string; logsDir: string },
  server: string | undefined,
  spawned: (pid: number) => void,
): Promise<Ended> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV.runId]: folder.id,
    [ENV.metricsFile]: folder.metricsFile,
    [ENV.outputsDir]: folder.outputsDir,
    // Python buffers a piped stdout; the log should show lines as they come.
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: [pythonHelperDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  if (server) env[ENV.server] = server;
  else delete env[ENV.server];
  const logFile = fs.createWriteStream(path.join(folder.logsDir, 'run.log'), { flags: 'a' });
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['inherit', 'pipe', 'pipe'] });
    if (child.pid !== undefined) spawned(child.pid);
    child.stdout!.on('data', (d: Buffer) => {
      process.stdout.write(d);
      logFile.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      process.stderr.write(d);
      logFile.write(d);
    });
    // A terminal's Ctrl-C reaches the child's process group by itself; relay only signals sent to us alone.
    const relay = (sig: NodeJS.Signals) => () => {
      if (sig === 'SIGINT' && process.stdin.isTTY) return;
      child.kill(sig);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]).map((sig) => [sig, relay(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    // Could not start: still a run that ended, failed with the shell's code for it (127).
    let ended = false;
    child.on('error', (err) => {
      ended = true;
      for (const [sig, h] of handlers) process.off(sig, h);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : err.message;
      const line = `outpost: cannot start ${argv[0]}: ${why}\n`;
      process.stderr.write(line);
      logFile.end(line, () => resolve({ status: 'failed', exitCode: 127, signal: null }));
    });
    child.on('close', (code, signal) => {
      if (ended) return; // 'error' said how it ended
      for (const [sig, h] of handlers) process.off(sig, h);
      logFile.end(() => {
        if (signal) resolve({ status: 'killed', exitCode: null, signal });
        else resolve({ status: code === 0 ? 'completed' : 'failed', exitCode: code, signal: null });
      });
    });
  });
}

/** --param K=V: a JSON number, boolean or list as such, anything else as text. */
function collectParam(kv: string, previous: [string, ParamValue][]): [string, ParamValue][] {
  const [k, v] = splitPair(kv);
  let value: ParamValue = v;
  try {
    const parsed: unknown = JSON.parse(v);
    if (typeof parsed === 'number' || typeof parsed === 'boolean' || Array.isArray(parsed)) value = parsed as ParamValue;
  } catch {
    // text, as written
  }
  return [...previous, [k, value]];
}

function collectTag(kv: string, previous: [string, string][]): [string, string][] {
  return [...previous, splitPair(kv)];
}

function splitPair(kv: string): [string, string] {
  const at = kv.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${kv}" is not KEY=VALUE`);
  return [kv.slice(0, at), kv.slice(at + 1)];
}
