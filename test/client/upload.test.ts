import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { Logger } from '../../src/client/logger';
import { repoRoot, tempRun } from './client-helpers';

function loggerFor(run = tempRun()): { logger: Logger; run: ReturnType<typeof tempRun> } {
  return { logger: new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }), run };
}

describe('upload()', () => {
  test('writes the exact content under outputs/, creating folders, and leaves no temp file', () => {
    const { logger, run } = loggerFor();
    const file = logger.upload('artifact/path', 'This should be the contents of artifact/path in the service');
    expect(file).toBe(path.join(run.outputsDir, 'artifact', 'path'));
    expect(fs.readFileSync(file, 'utf8')).toBe('This should be the contents of artifact/path in the service');
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    logger.upload('bin/data.bin', bytes);
    expect(fs.readFileSync(path.join(run.outputsDir, 'bin/data.bin'))).toEqual(bytes);
    expect(fs.readdirSync(path.join(run.outputsDir, 'artifact'))).toEqual(['path']);
  });

  test('replacing a file is atomic: a reader sees the old content or the new, never a mixture', () => {
    const { logger, run } = loggerFor();
    const a = 'a'.repeat(1 << 20);
    const b = 'b'.repeat(1 << 20);
    logger.upload('model.txt', a);
    const file = path.join(run.outputsDir, 'model.txt');
    for (let i = 0; i < 20; i++) {
      logger.upload('model.txt', i % 2 ? a : b);
      const seen = fs.readFileSync(file, 'utf8');
      expect(seen === a || seen === b).toBe(true);
    }
  });

  test.each([
    ['../escape.txt', /path escapes the run/],
    ['a/../../escape.txt', /path escapes the run/],
    ['/etc/passwd', /path is absolute/],
    ['a\\b', /backslash/],
    ['', /path is empty/],
    ['a//b', /empty or "." segment/],
  ])('the path %j is refused with a clear error', (p, reason) => {
    const { logger, run } = loggerFor();
    expect(() => logger.upload(p, 'x')).toThrow(reason);
    expect(() => logger.upload(p, 'x')).toThrow(/cannot upload .*give a relative path inside outputs\//);
    expect(fs.existsSync(path.join(run.dir, 'escape.txt'))).toBe(false);
  });

  test('content over the artifact cap is refused, naming the path and the cap', () => {
    // A 10-byte cap (OUTPOST_CONFIG) stands in for 512 MiB.
    const run = tempRun();
    const script = `
      const { Logger } = require(${JSON.stringify(path.join(repoRoot, 'dist/src/client'))});
      const logger = new Logger({ runId: 'r', metricsFile: ${JSON.stringify(run.metricsFile)}, outputsDir: ${JSON.stringify(run.outputsDir)} });
      logger.upload('small.txt', '0123456789');
      try { logger.upload('big.txt', '01234567890'); } catch (e) { console.log(e.code + ' ' + e.message); }`;
    const out = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, OUTPOST_CONFIG: '{"limits":{"maxFileBytes":10}}' }, encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('OUTPOST_ERR_TOO_LARGE cannot upload "big.txt": 11 bytes is over the 10-byte cap of one artifact');
    expect(fs.existsSync(path.join(run.outputsDir, 'big.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(run.outputsDir, 'small.txt'), 'utf8')).toBe('0123456789');
  });
});
