/** What the CLI says when it cannot start something: one line naming the cause and the fix, never a stack. */
import fs from 'fs';
import net from 'net';
import path from 'path';
import { tempDir } from '../service/server-process';
import { runCli } from './cli-fixture';

let dir: string;
beforeAll(() => {
  dir = tempDir('outpost-cli-start-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

test('outpost server beyond loopback without a token: exit 2, one line saying what to set', async () => {
  const r = await runCli(['server', '--host', '0.0.0.0', '--port', '0', '--data', path.join(dir, 'data')], { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^outpost: listening on 0\.0\.0\.0 \(beyond loopback\) needs a token: set OUTPOST_TOKEN or pass --token-file\n/);
  noStack(r.stderr);
});

test('outpost ui on a port in use: exit 1, naming the port and the way out', async () => {
  fs.mkdirSync(path.join(dir, '.outpost'), { recursive: true });
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    const r = await runCli(['ui', '--port', String(port)], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`outpost: cannot listen on 127.0.0.1:${port}: the port is in use (--port)`);
    noStack(r.stderr);
  } finally {
    busy.close();
  }
});

test('outpost ui where there is no .outpost/ says so, as history list does, and creates no store', async () => {
  const empty = tempDir('outpost-cli-nostore-');
  try {
    const r = await runCli(['ui', '--port', '0'], { cwd: empty });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no local store: there is no \.outpost\/ in .* or above/);
    expect(fs.existsSync(path.join(empty, '.outpost'))).toBe(false);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('a server address that is not a URL is named, with the form expected, from --server and from OUTPOST_SERVER', async () => {
  const flag = await runCli(['history', 'list', '--server', '127.0.0.1:8787'], { cwd: dir });
  expect(flag.code).toBe(2);
  expect(flag.stderr).toContain('outpost: --server 127.0.0.1:8787: not a URL; expected http://HOST:PORT (or https://...), e.g. http://127.0.0.1:8787');
  const env = await runCli(['history', 'list'], { cwd: dir, env: { OUTPOST_SERVER: 'localhost:8787' } });
  expect(env.code).toBe(2);
  expect(env.stderr).toContain('OUTPOST_SERVER=localhost:8787: expected an http:// or https:// URL');
  const run = await runCli(['run', '--server', 'example:1', '--', 'true'], { cwd: dir });
  expect(run.code).toBe(2);
  noStack(flag.stderr + env.stderr + run.stderr);
});
