/**
 * `outpost history tag | untag | rename | note | delete | restore | purge`: what people change
 * about runs, over the service (PATCH, DELETE, restore, purge) or the local store.
 */
import fs from 'fs';
import readline from 'readline';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { PurgeResult, RunInfo } from '../protocol';
import { CliError, EXIT_USAGE } from './exit-codes';
import { formatBytes } from './format-human';
import { parseRunId } from './parse';
import { ConnectionFlags, addConnectionOptions, printJson, withConnection } from './with-connection';

export function registerRunEditCommands(history: Command): void {
  const one = (name: string, description: string, args: string, fn: (run: string, values: string[], opts: ConnectionFlags) => Promise<RunInfo>, print: (r: RunInfo) => string) => {
    const cmd = history.command(name).description(description).requiredOption('-r, --run <id>', 'the run', parseRunId).argument(args);
    addConnectionOptions(cmd).action(async (values: string[] | string, opts: ConnectionFlags & { run: string }) => {
      const run = await fn(opts.run, Array.isArray(values) ? values : [values], opts);
      if (opts.json) printJson(run);
      else process.stdout.write(print(run));
    });
  };
  const patch = (body: object) => (run: string, _v: string[], opts: ConnectionFlags) =>
    withConnection(opts, async ({ api }) => (await api.patch<RunInfo>(`/runs/${encodeURIComponent(run)}`, body)).data);

  one('tag', 'set tags of a run: K=V ...', '<tags...>', (run, values, opts) => patch({ tags: Object.fromEntries(values.map(parseTag)) })(run, values, opts), tagsLine);
  one('untag', 'remove tags of a run: K ...', '<keys...>', (run, values, opts) => patch({ tags: Object.fromEntries(values.map((k) => [k, null])) })(run, values, opts), tagsLine);
  one('rename', 'give a run another name', '<name>', (run, values, opts) => patch({ name: values[0] })(run, values, opts), (r) => `run ${r.id} is now named ${r.name}\n`);
  one(
    'note',
    'set the note of a run (Markdown; "-" reads it from stdin, "" removes it)',
    '<text>',
    async (run, values, opts) => {
      const text = values[0] === '-' ? fs.readFileSync(0, 'utf8') : values[0];
      return patch({ note: text === '' ? null : text })(run, values, opts);
    },
    (r) => (r.note === null ? `run ${r.id} has no note now\n` : `run ${r.id}: note set (${r.note.length} characters)\n`),
  );

  for (const [name, description, verb] of [
    ['delete', 'hide runs (they stay until purged; --deleted lists them, restore brings them back)', 'deleted'],
    ['restore', 'bring deleted runs back', 'restored'],
  ] as const) {
    const cmd = history.command(name).description(description).requiredOption('-r, --run <ids...>', 'the runs', collectRunIds);
    addConnectionOptions(cmd).action(async (opts: ConnectionFlags & { run: string[] }) =>
      withConnection(opts, async ({ api }) => {
        const done: RunInfo[] = [];
        for (const id of opts.run) {
          const url = `/runs/${encodeURIComponent(id)}`;
          done.push((name === 'delete' ? await api.delete<RunInfo>(url) : await api.post<RunInfo>(`${url}/restore`, {})).data);
        }
        if (opts.json) return printJson(done);
        for (const r of done) process.stdout.write(`run ${r.id} ${verb}\n`);
      }),
    );
  }

  const purge = history
    .command('purge')
    .description('remove deleted runs for good, with the files no other run or asset keeps')
    .option('--older-than <age>', 'only runs deleted at least this long ago: 7d, 12h, 30m, 45s', parseAge)
    .option('--yes', 'do it without asking (else it says what would go, and asks at a terminal)');
  addConnectionOptions(purge).action(async (opts: ConnectionFlags & { olderThan?: number; yes?: boolean }) =>
    withConnection(opts, async ({ api }) => {
      const ask = (dryRun: boolean) => api.post<PurgeResult>('/purge', { olderThanSeconds: opts.olderThan, dryRun }).then((r) => r.data);
      if (!opts.yes) {
        const would = await ask(true);
        if (would.runs.length === 0) return opts.json ? printJson(would) : void process.stdout.write('no deleted runs to purge\n');
        process.stdout.write(`would remove for good: ${described(would)}\n`);
        if (!process.stdin.isTTY) throw new CliError('nothing was removed: pass --yes to remove them', EXIT_USAGE);
        if (!(await confirm('Remove them? [y/N] '))) return void process.stdout.write('nothing was removed\n');
      }
      const done = await ask(false);
      if (opts.json) return printJson(done);
      process.stdout.write(done.runs.length ? `removed for good: ${described(done)}\n` : 'no deleted runs to purge\n');
    }),
  );
}

function described(r: PurgeResult): string {
  return `${r.runs.length} run${r.runs.length === 1 ? '' : 's'} (${r.runs.join(', ')}) and ${r.blobs} file${r.blobs === 1 ? '' : 's'} (${formatBytes(r.bytes)}) that nothing else keeps`;
}

function tagsLine(r: RunInfo): string {
  const tags = Object.entries(r.tags);
  return `run ${r.id} tags: ${tags.length ? tags.map(([k, v]) => `${k}=${v}`).join(' ') : '(none)'}\n`;
}

/** K=V: V a string as written (tags are text). */
function parseTag(kv: string): [string, string] {
  const at = kv.indexOf('=');
  if (at <= 0) throw new CliError(`"${kv}" is not KEY=VALUE`, EXIT_USAGE);
  return [kv.slice(0, at), kv.slice(at + 1)];
}

function collectRunIds(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseRunId(value)];
}

/** "7d", "12h", "30m", "45s" (or seconds) as seconds. */
export function parseAge(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([dhms]?)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('an age is a number with d, h, m or s (7d, 12h, 30m, 45s)');
  return Number(m[1]) * { d: 86_400, h: 3_600, m: 60, s: 1, '': 1 }[m[2] as 'd' | 'h' | 'm' | 's' | ''];
}

function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    }),
  );
}
