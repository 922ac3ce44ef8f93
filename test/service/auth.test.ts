import fs from 'fs';
import path from 'path';
import { spawnSync } from 'child_process';
import { BIN, ServerProcess, cleanEnv, startServerProcess, tempDir } from './server-process';
import { rawRequest } from './raw-http';

describe('bearer-token auth', () => {
  const TOKEN = 'test-token-0123456789';
  let dir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir('outpost-auth-');
    server = await startServerProcess({ dataDir: path.join(dir, 'data'), env: { OUTPOST_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a request without a token gets 401 with a JSON error', async () => {
    const res = await rawRequest(server.url, { path: '/api/v1/runs' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json().error.code).toBe('OUTPOST_ERR_UNAUTHORIZED');
  });

  test('a request with a wrong token gets 401', async () => {
    for (const authorization of [`Bearer ${TOKEN}x`, 'Bearer wrong', TOKEN, `Basic ${TOKEN}`]) {
      expect((await rawRequest(server.url, { path: '/api/v1/runs', headers: { authorization } })).status).toBe(401);
    }
  });

  test('no spelling of an API path gets past the token (percent-encoded, absolute form, dot segments)', async () => {
    for (const p of ['/%61pi/v1/runs', '/api/v1/%72uns', `${server.url}/api/v1/runs`, '/api//v1/runs', '/x/../api/v1/runs']) {
      const res = await rawRequest(server.url, { path: p });
      expect([p, res.status === 200]).toEqual([p, false]); // 401, or 404 for a path no route takes
    }
    const write = await rawRequest(server.url, { path: '/%61pi/v1/runs/sneaky', method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(write.status).toBe(401);
  });

  test('a request with the token gets 200', async () => {
    const res = await rawRequest(server.url, { path: '/api/v1/runs', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([]);
  });

  test('the token can come from --token-file', async () => {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'from-a-file\n');
    const other = await startServerProcess({ dataDir: path.join(dir, 'data2'), args: ['--token-file', file] });
    try {
      expect((await rawRequest(other.url, { path: '/api/v1/runs' })).status).toBe(401);
      expect((await rawRequest(other.url, { path: '/api/v1/runs', headers: { authorization: 'Bearer from-a-file' } })).status).toBe(200);
    } finally {
      await other.stop();
    }
  });

  test('listening beyond loopback without a token refuses to start, saying why', () => {
    const res = spawnSync(process.execPath, [BIN, 'server', '--host', '0.0.0.0', '--port', '0', '--data', path.join(dir, 'data3')], {
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/0\.0\.0\.0.*needs a token.*OUTPOST_TOKEN/);
  });

  test('without a token, loopback needs none', async () => {
    const open = await startServerProcess({ dataDir: path.join(dir, 'data4') });
    try {
      expect((await rawRequest(open.url, { path: '/api/v1/health' })).status).toBe(200);
      expect((await rawRequest(open.url, { path: '/api/v1/runs' })).status).toBe(200);
    } finally {
      expect((await open.stop()).code).toBe(0);
    }
  });
});
