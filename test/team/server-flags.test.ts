/** `outpost server --db URL --blobs URL`, OUTPOST_DB and OUTPOST_BLOBS: where the store and the blobs go, and what a wrong URL says. */
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { outpost } from '../agent/agent-process';
import { startServerProcess, tempDir } from '../service/server-process';

let dir: string;
beforeEach(() => (dir = tempDir('outpost-flags-')));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--db sqlite:PATH and --blobs FOLDER put the database and the blobs there, not in --data', async () => {
  const server = await startServerProcess({ dataDir: path.join(dir, 'data'), args: ['--db', `sqlite:${path.join(dir, 'elsewhere', 'team.db')}`, '--blobs', path.join(dir, 'shared-blobs')] });
  try {
    await axios.put(`${server.url}/api/v1/runs/r1`, {});
    const bytes = crypto.randomBytes(100_000);
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    await axios.put(`${server.url}/api/v1/runs/r1/artifacts/outputs/w.bin`, bytes, { headers: { 'content-type': 'application/octet-stream', 'x-outpost-sha256': sha } });
    expect(fs.existsSync(path.join(dir, 'elsewhere', 'team.db'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'shared-blobs', sha.slice(0, 2), sha))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'data', 'outpost.db'))).toBe(false);
  } finally {
    await server.stop();
  }
});

test('OUTPOST_DB and OUTPOST_BLOBS say the same when the flags are absent', async () => {
  const server = await startServerProcess({
    dataDir: path.join(dir, 'data'),
    env: { OUTPOST_DB: `sqlite:${path.join(dir, 'env.db')}`, OUTPOST_BLOBS: path.join(dir, 'env-blobs') },
  });
  try {
    await axios.put(`${server.url}/api/v1/runs/r1`, {});
    expect(fs.existsSync(path.join(dir, 'env.db'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'env-blobs'))).toBe(true);
  } finally {
    await server.stop();
  }
});

test.each([
  [['--db', 'mysql://u:secret@h/db'], /--db mysql:\/\/u:\*\*\*@h\/db: not a database URL; give sqlite:PATH or postgresql:/],
  [['--blobs', 'gs://bucket/x'], /--blobs gs:\/\/bucket\/x: not a folder nor s3:\/\/bucket\/prefix/],
  [['--db', 'postgresql://nobody@127.0.0.1:1/none'], /cannot start the service \(the database cannot be reached/],
])('a wrong or unreachable location is said in one line, without its password: %j', (args, message) => {
  const r = outpost(['server', '--port', '0', '--data', path.join(dir, 'data'), ...args], { timeout: 30_000 });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toContain('secret');
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
});
