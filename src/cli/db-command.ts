/** `outpost db copy`: an existing SQLite store into PostgreSQL, for a team's service. */
import type { Command } from 'commander';
import { openBlobStore, parseBlobUrl, parseDbUrl, redact } from '../store/open-store';
import { CliError, EXIT_USAGE } from './exit-codes';

interface CopyOptions {
  from: string;
  to: string;
  fromBlobs?: string;
  toBlobs?: string;
}

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the store itself: copy a SQLite store into PostgreSQL');
  db.command('copy')
    .description('copy a SQLite store, whole, into an empty PostgreSQL database (ids, stream positions and versions kept)')
    .requiredOption('--from <url>', 'the SQLite store: sqlite:PATH (e.g. sqlite:.outpost/outpost.db)')
    .requiredOption('--to <url>', 'the PostgreSQL database: postgresql://user:password@host:port/dbname')
    .option('--from-blobs <url>', 'with --to-blobs: the blobs to copy too (a folder, e.g. .outpost/blobs, or s3://bucket/prefix)')
    .option('--to-blobs <url>', 'with --from-blobs: where to copy the blobs (a folder or s3://bucket/prefix); without both, blobs stay where they are')
    .action(async (opts: CopyOptions) => {
      const from = parseDbUrl(opts.from, '.');
      const to = parseDbUrl(opts.to, '.');
      if (from.kind !== 'sqlite' || !opts.from.startsWith('sqlite:')) throw new CliError(`--from ${redact(opts.from)}: give the SQLite store as sqlite:PATH`, EXIT_USAGE);
      if (to.kind !== 'postgresql') throw new CliError(`--to ${redact(opts.to)}: give the PostgreSQL database as postgresql://user:password@host:port/dbname`, EXIT_USAGE);
      if ((opts.fromBlobs === undefined) !== (opts.toBlobs === undefined)) throw new CliError('--from-blobs and --to-blobs go together', EXIT_USAGE);
      const fromBlobs = opts.fromBlobs ? await openBlobStore(parseBlobUrl(opts.fromBlobs, '.'), { sweep: false }) : undefined;
      const toBlobs = opts.toBlobs ? await openBlobStore(parseBlobUrl(opts.toBlobs, '.'), { sweep: false }) : undefined;
      try {
        const where = `the PostgreSQL database ${redact(to.url)}`;
        // Loaded here: pg and its COPY streams cost every other command ~50 ms of start-up.
        const { copySqliteToPg } = await import('../store/db-copy');
        const result = await copySqliteToPg(from.file, to.url, {
          where,
          fromBlobs,
          toBlobs,
          onTable: (t) => process.stdout.write(`${t.table}: ${t.rows.toLocaleString('en-US')} rows\n`),
        }).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'SQLITE_CANTOPEN') throw new CliError(`--from ${opts.from}: no such SQLite store`);
          throw err;
        });
        const rows = result.tables.reduce((n, t) => n + t.rows, 0);
        process.stdout.write(`copied ${rows.toLocaleString('en-US')} rows into ${where}${toBlobs ? `, and ${result.blobsCopied} blobs into ${toBlobs.location}` : ''}\n`);
      } finally {
        await fromBlobs?.close();
        await toBlobs?.close();
      }
    });
}
