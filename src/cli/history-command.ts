/**
 * `outpost history last | list | info | metric | promote`: the Workbench consumption commands
 * (`az ml history ...`, see docs/cli.md) over the service, or over the local store when no
 * --server / OUTPOST_SERVER is given.
 */
import { Command, Option } from 'commander';
import { AssetVersion, RUN_STATUSES, RunInfo, RunStatus, RunSummary, artifactPathProblem, artifactPrefixProblem } from '../protocol';
import { downloadArtifact, resolveDest } from './artifact-download';
import { CliError, EXIT_USAGE } from './exit-codes';
import { formatBytes, formatDuration, formatTime } from './format-human';
import { formatTable } from './format-table';
import { metricPages, writeSeries } from './metric-series';
import { parsePositiveInt, parseRunId } from './parse';
import { registerRunEditCommands } from './run-edit-commands';
import { renderRunInfo } from './run-info-view';
import { acceptTwoLetterFlag } from './two-letter-flag';
import { ConnectionFlags, addConnectionOptions, printJson, withConnection } from './with-connection';

export function registerHistoryCommands(program: Command): void {
  const history = program.command('history').description('look at past runs, and tidy them: last, list, info, metric, promote, tag, untag, rename, note, delete, restore, purge');
  lastCommand(history);
  listCommand(history);
  infoCommand(history);
  metricCommand(history);
  promoteCommand(history);
  registerRunEditCommands(history);
}

function lastCommand(history: Command): void {
  addConnectionOptions(history.command('last').description('the most recent run, in detail').option('--experiment <name>', 'only runs of this experiment')).action(
    async (opts: ConnectionFlags & { experiment?: string }) =>
      withConnection(opts, async ({ api }) => {
        const { data } = await api.get<RunInfo>('/runs/last', { params: { experiment: opts.experiment } });
        if (opts.json) printJson(data);
        else process.stdout.write(renderRunInfo(data));
      }),
  );
}

function listCommand(history: Command): void {
  const cmd = history
    .command('list')
    .description('past runs, newest first; --filter finds them by value (MLflow search syntax), --sort orders them')
    .option('--experiment <name>', 'only runs of this experiment')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('--filter <expr>', `e.g. "params.lr = 0.01 and metrics.val_acc > 0.9 and tags.team = 'vision'" (see docs/cli.md)`)
    .option('--sort <key>', 'KEY [asc|desc], e.g. "metrics.val_acc desc" (default: newest first)')
    .option('--deleted', 'only deleted runs (history delete; history restore brings one back)')
    .option('--limit <n>', 'at most this many runs', parsePositiveInt);
  addConnectionOptions(cmd).action(async (opts: ConnectionFlags & { experiment?: string; status?: RunStatus; limit?: number; filter?: string; sort?: string; deleted?: boolean }) =>
    withConnection(opts, async ({ api }) => {
      const params = { experiment: opts.experiment, status: opts.status, limit: opts.limit, filter: opts.filter, sort: opts.sort, deleted: opts.deleted };
      const res = await api.get<RunSummary[]>('/runs', { params });
      // Exactly the fields docs/cli.md fixes, whatever else the service adds.
      const runs = res.data.map(({ id, experiment, name, status, startTime, endTime, params: p, tags }) => ({ id, experiment, name, status, startTime, endTime, params: p, tags }));
      if (opts.json) return printJson(runs);
      if (runs.length === 0) return void process.stdout.write(opts.filter ? 'no runs match\n' : 'no runs\n');
      const rows = runs.map((r) => [r.id, r.experiment, r.name, r.status, formatTime(r.startTime), formatDuration(r.startTime, r.endTime)]);
      process.stdout.write(formatTable(['ID', 'EXPERIMENT', 'NAME', 'STATUS', 'STARTED', 'DURATION'], rows, { align: ['left', 'left', 'left', 'left', 'left', 'right'] }));
      const total = Number(res.headers['x-total-count']);
      if (Number.isFinite(total) && total > runs.length) process.stdout.write(`(${runs.length} of ${total} runs; use --limit)\n`);
    }),
  );
}

function infoCommand(history: Command): void {
  const cmd = history
    .command('info')
    .description('one run: status, times, metrics, rejected lines, artifacts; with -a, download an artifact')
    .requiredOption('-r, --run <id>', 'the run', parseRunId)
    .option('-a, --artifact <path>', 'download this artifact (verified by sha256)')
    .option('-o, --output <dest>', "where to write the artifact (a file or a folder; default: the artifact's name in the current folder)");
  addConnectionOptions(cmd).action(async (opts: ConnectionFlags & { run: string; artifact?: string; output?: string }) => {
    if (opts.output !== undefined && opts.artifact === undefined) throw new CliError('-o/--output needs -a/--artifact PATH', EXIT_USAGE);
    if (opts.artifact === undefined) {
      return withConnection(opts, async ({ api }) => {
        const { data } = await api.get<RunInfo>(`/runs/${encodeURIComponent(opts.run)}`);
        if (opts.json) printJson(data);
        else process.stdout.write(renderRunInfo(data));
      });
    }
    const problem = artifactPathProblem(opts.artifact);
    if (problem) throw new CliError(`-a ${JSON.stringify(opts.artifact)}: ${problem}`, EXIT_USAGE);
    const dest = resolveDest(opts.artifact, opts.output);
    return withConnection(opts, async ({ api }) => {
      const got = await downloadArtifact(api, opts.run, opts.artifact!, dest);
      if (opts.json) printJson(got);
      else process.stdout.write(`${got.path} (version ${got.version}, ${formatBytes(got.size)}, sha256 ${got.sha256}) -> ${got.dest}\n`);
    });
  });
}

function metricCommand(history: Command): void {
  const cmd = history
    .command('metric')
    .description("one metric's whole series, in spool order")
    .argument('<name>', 'metric name')
    .requiredOption('-r, --run <id>', 'the run', parseRunId)
    .addOption(new Option('--csv', 'print CSV: step,time,value').conflicts('json'));
  addConnectionOptions(cmd).action(async (name: string, opts: ConnectionFlags & { run: string; csv?: boolean }) => {
    // `| head` closes stdout early: that is the reader's choice, not a failure.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? process.exit(0) : undefined));
    return withConnection(opts, async ({ api }) => {
      await writeSeries(metricPages(api, opts.run, name), opts.json ? 'json' : opts.csv ? 'csv' : 'table');
    });
  });
}

function promoteCommand(history: Command): void {
  const cmd = history
    .command('promote')
    .description("promote a run's artifacts under a prefix to a named, versioned asset")
    .requiredOption('-r, --run <id>', 'the run', parseRunId)
    .requiredOption('--artifact-prefix <prefix>', 'artifacts under this prefix ("" for all); -ap PREFIX works too, as in the Workbench')
    .requiredOption('-n, --name <name>', 'asset name; promoting again makes its next version');
  acceptTwoLetterFlag(cmd, '-ap', '--artifact-prefix');
  addConnectionOptions(cmd).action(async (opts: ConnectionFlags & { run: string; artifactPrefix: string; name: string }) => {
    const problem = artifactPrefixProblem(opts.artifactPrefix);
    if (problem) throw new CliError(`-ap ${JSON.stringify(opts.artifactPrefix)}: ${problem}`, EXIT_USAGE);
    return withConnection(opts, async ({ api }) => {
      const { data } = await api.post<AssetVersion>('/assets', { run: opts.run, prefix: opts.artifactPrefix, name: opts.name });
      if (opts.json) return printJson(data);
      const total = data.files.reduce((sum, f) => sum + f.size, 0);
      process.stdout.write(
        `promoted run ${data.sourceRun} prefix "${data.prefix}" to asset ${data.name} version ${data.version} (${data.files.length} file${data.files.length === 1 ? '' : 's'}, ${formatBytes(total)})\n`,
      );
      process.stdout.write(formatTable(['PATH', 'SIZE', 'SHA256'], data.files.map((f) => [f.path, formatBytes(f.size), f.sha256.slice(0, 12)]), { indent: '  ', align: ['left', 'right'] }));
    });
  });
}
