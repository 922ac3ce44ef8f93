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

  test('the scheme is case-insensitive (RFC 7235); the token is not', async () => {
    for (const authorization of [`bearer ${TOKEN}`, `BEARER ${TOKEN}`, `BeArEr ${TOKEN}`, `Bearer  ${TOKEN}`]) {
      expect({ authorization, status: (await rawRequest(server.url, { path: '/api/v1/runs', headers: { authorization } })).status }).toEqual({ authorization, status: 200 });
    }
    for (const authorization of [`Bearer ${TOKEN.toUpperCase()}`, 'Bearer ', 'Bearer', `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}${'x'.repeat(10_000)}`, `Bearer${TOKEN}`]) {
      expect((await rawRequest(server.url, { path: '/api/v1/runs', headers: { authorization } })).status).toBe(401);
    }
  });

  test('a request with the token gets 200', async () => {
    const res = await rawRequest(server.url, { path: '/api/v1/runs', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([]);
  });

  test('the token can come from --token-file', async () => {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'from-a-file-0123456789\n');
    const other = await startServerProcess({ dataDir: path.join(dir, 'data2'), args: ['--token-file', file] });
    try {
      expect((await rawRequest(other.url, { path: '/api/v1/runs' })).status).toBe(401);
      expect((await rawRequest(other.url, { path: '/api/v1/runs', headers: { authorization: 'Bearer from-a-file-0123456789' } })).status).toBe(200);
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
    expect(res.status).toBe(2); // a usage error: the command needs another setting
    expect(res.stderr).toMatch(/0\.0\.0\.0.*needs a token.*OUTPOST_TOKEN/);
  });

  test.each([
    ['one space, beyond loopback', ' ', ['--host', '0.0.0.0'], 0],
    ['15 characters on loopback', 'x'.repeat(15), [], 15],
    ['15 characters and spaces', `  ${'y'.repeat(15)}  `, ['--host', '0.0.0.0'], 15],
  ])('a token of %s is refused at start, with the rule and no stack', (_what, token, args, chars) => {
    const res = spawnSync(process.execPath, [BIN, 'server', ...args, '--port', '0', '--data', path.join(dir, 'data5')], {
      env: cleanEnv({ OUTPOST_TOKEN: token }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toBe(
      `outpost: the token has ${chars} character${chars === 1 ? '' : 's'} (surrounding whitespace not counted); a token needs at least 16 (service.minTokenChars): ` +
        'set OUTPOST_TOKEN (or --token-file) to a longer one, such as the output of `openssl rand -hex 32`\n(add --help for usage)\n',
    );
  });

  test('a token of 16 characters, and one with whitespace around it, are taken (the whitespace is not part of it)', async () => {
    const padded = await startServerProcess({ dataDir: path.join(dir, 'data6'), env: { OUTPOST_TOKEN: ` ${'z'.repeat(16)}\t` } });
    try {
      expect((await rawRequest(padded.url, { path: '/api/v1/runs', headers: { authorization: `Bearer ${'z'.repeat(16)}` } })).status).toBe(200);
    } finally {
      await padded.stop();
    }
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
