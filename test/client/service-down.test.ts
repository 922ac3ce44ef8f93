/**
 * Loggers whose service is down, with the real binary: a training job calling wait() each epoch
 * goes on (one warning), and a run the service never saw is registered by `outpost sync` later
 * with its real start, command, folder and host.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { startServerProcess } from '../service/server-process';
import { repoRoot } from './client-helpers';

const outpost = path.join(repoRoot, 'bin/outpost.js');

function cli(args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPOST_LOG_LEVEL: 'error', ...extra };
  for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER', 'OUTPOST_STRICT_WAIT', 'OUTPOST_TOKEN']) delete env[k];
  return spawnSync(process.execPath, [outpost, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
}

/** A loopback port nothing listens on (for now). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const pythonJob = `
from outpost_logger import get_logger
logger = get_logger()
for epoch in range(3):
    logger.log("loss", 1.0 / (epoch + 1), step=epoch).wait(timeout=0.3)
print("trained")
`;

const typescriptJob = `
const { getLogger } = require(${JSON.stringify(repoRoot)});
const logger = getLogger();
(async () => {
  for (let epoch = 0; epoch < 3; epoch++) await logger.log('loss', 1 / (epoch + 1), { step: epoch }).wait({ timeoutMs: 300 });
  console.log('trained');
})();
`;

describe.each([
  ['Python', 'train.py', pythonJob, ['python3', 'train.py']],
  ['TypeScript (compiled JavaScript)', 'train.js', typescriptJob, [process.execPath, 'train.js']],
])('wait() in %s under outpost run while the service is down', (_lang, file, code, command) => {
  test('the job is not failed: each wait() returns (one warning), and outpost sync ships every line once the service is back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-wait-down-'));
    fs.writeFileSync(path.join(dir, file), code);
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    // A short end-of-run grace: the service will not answer.
    const run = cli(['run', '--server', url, '--', ...command], dir, { OUTPOST_CONFIG: JSON.stringify({ agent: { finalSyncGraceMs: 1000 } }) });
    expect(run.stdout).toBe('trained\n');
    expect(run.status).toBe(0);
    expect(run.stderr.match(/has not acknowledged/g)).toHaveLength(1);
    expect(run.stderr).toMatch(/the line is safe in the spool \(fsynced\) and the agent \(pid \d+, server http:\/\/127\.0\.0\.1:\d+\) will ship it/);
    expect(run.stderr).not.toMatch(/AckTimeoutError|Traceback/);

    const server = await startServerProcess({ dataDir: path.join(dir, 'service-data'), args: ['--port', String(port)] });
    try {
      const sync = cli(['sync', '--server', url], dir);
      expect(sync.status).toBe(0);
      const runs = JSON.parse(cli(['history', 'list', '--json', '--server', url], dir).stdout) as { id: string; status: string }[];
      expect(runs).toEqual([expect.objectContaining({ status: 'completed' })]);
      const points = JSON.parse(cli(['history', 'metric', '-r', runs[0].id, 'loss', '--json', '--server', url], dir).stdout) as { step: number }[];
      expect(points.map((p) => p.step)).toEqual([0, 1, 2]);
    } finally {
      await server.stop();
    }
  });
});

test('getLogger() outside outpost run with its service down: outpost sync registers the run later with its real start, command, folder and host', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-in-process-down-'));
  fs.writeFileSync(path.join(dir, 'train.js'), `const { getLogger } = require(${JSON.stringify(repoRoot)});\ngetLogger().log('loss', 0.5, { step: 1 });\n`);
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPOST_SERVER: url, OUTPOST_LOG_LEVEL: 'error', OUTPOST_CONFIG: JSON.stringify({ agent: { finalSyncGraceMs: 1000 } }) };
  for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_TOKEN']) delete env[k];
  const job = spawnSync(process.execPath, ['train.js', '--lr', "it's 0.1"], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  expect(job.status).toBe(0);
  expect(job.stderr).toMatch(/the service could not be reached: 1 metric line .* kept on disk/);

  const server = await startServerProcess({ dataDir: path.join(dir, 'service-data'), args: ['--port', String(port)] });
  try {
    // Registered only now, after the program ended.
    const sync = cli(['sync', '--server', url], dir);
    expect(sync.status).toBe(0);
    const [run] = JSON.parse(cli(['history', 'list', '--json', '--server', url], dir).stdout) as { id: string }[];
    const info = JSON.parse(cli(['history', 'info', '-r', run.id, '--json', '--server', url], dir).stdout);
    expect(info).toMatchObject({
      status: 'completed',
      command: `${path.basename(process.execPath)} ${path.join(fs.realpathSync(dir), 'train.js')} --lr 'it'\\''s 0.1'`,
      cwd: fs.realpathSync(dir),
      host: os.hostname(),
    });
    expect(Date.parse(info.startTime)).toBeLessThanOrEqual(Date.parse(info.endTime));
  } finally {
    await server.stop();
  }
});
