/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: initdb and pg_ctl on a free loopback
 * port, in a temp folder removed by stop(). PostgreSQL refuses to run as root, so as root the
 * cluster belongs to the unprivileged `postgres` user (Debian's package makes it) and its commands
 * run through runuser. Durability is off (fsync, synchronous_commit): nothing here outlives the run.
 */
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';

export interface PgCluster {
  port: number;
  dir: string;
  /** A URL of database `db` (default: postgres) as the superuser `outpost`, no password (trust on loopback). */
  url(db?: string): string;
  /** Makes a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `psql -c` as the superuser. */
  sql(statement: string, db?: string): string;
  /** Stops the server (fast: clients are cut off) and starts it again on the same port. */
  restart(): void;
  stop(): void;
}

/** initdb's folder: on PATH, else the newest of Debian's /usr/lib/postgresql/N/bin. */
export function pgBinDir(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return path.dirname(fs.realpathSync(onPath));
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<PgCluster>();
process.once('exit', () => {
  for (const c of live) c.stop();
});

export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (no initdb on PATH nor in /usr/lib/postgresql/*/bin): apt-get install postgresql');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run('initdb', ['-D', data, '-U', 'outpost', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  let port = 0;
  const start = () =>
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      'start',
    ]);
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      start();
      break;
    } catch (err) {
      // Someone took the port in between: another one.
      if (attempt >= 5) throw err;
    }
  }
  let stopped = false;
  const psql = path.join(bin, 'psql');
  const cluster: PgCluster = {
    port,
    dir,
    url: (db = 'postgres') => `postgresql://outpost@127.0.0.1:${port}/${db}`,
    async createDatabase(name) {
      cluster.sql(`CREATE DATABASE "${name}"`);
      return cluster.url(name);
    },
    sql(statement, db = 'postgres') {
      const r = spawnSync(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'outpost', '-d', db, '-XAtqc', statement], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql: ${statement}: ${r.stderr}`);
      return r.stdout;
    },
    restart() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      start();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      live.delete(cluster);
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Already down.
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(cluster);
  return cluster;
}
