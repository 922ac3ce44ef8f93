import fs from 'fs';
import path from 'path';
import { AckTimeoutError } from '../../src/client/ack-timeout-error';
import { Logger } from '../../src/client/logger';
import { acknowledgeSpool, readLines, tempRun } from './client-helpers';

function newLogger(run = tempRun()): { logger: Logger; run: ReturnType<typeof tempRun> } {
  // A long flush interval: only wait(), flush() and the size cap write.
  const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 60_000, ackPollMs: 20 });
  return { logger, run };
}

describe('log() and the spool', () => {
  test('log() buffers; flush() appends whole lines in call order', () => {
    const { logger, run } = newLogger();
    logger.log('a', 1);
    logger.log('b', [1, 2]);
    logger.logMetrics({ c: 0.5, d: 'x' }, { step: 2 });
    expect(fs.existsSync(run.metricsFile)).toBe(false);
    logger.flush();
    expect(readLines(run.metricsFile).map((l) => l.name ?? Object.keys(l.metrics as object).join())).toEqual(['a', 'b', 'c,d']);
  });

  test('the timer flushes without any call', async () => {
    const run = tempRun();
    const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 5 });
    logger.log('a', 1);
    for (let i = 0; i < 400 && !fs.existsSync(run.metricsFile); i++) await new Promise((r) => setTimeout(r, 5));
    expect(readLines(run.metricsFile)).toHaveLength(1);
  });

  test('a tight loop is flushed by size, so memory stays bounded', () => {
    const run = tempRun();
    const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 60_000, flushMaxBytes: 4096 });
    for (let i = 0; i < 1000; i++) logger.log('loss', i / 7, { step: i });
    expect(fs.statSync(run.metricsFile).size).toBeGreaterThan(30_000);
    logger.flush();
    expect(readLines(run.metricsFile).map((l) => l.step)).toEqual([...Array(1000).keys()]);
  });

  test('while the spool cannot be written, lines are held (log() does not throw) and written in order once it can', () => {
    const run = tempRun();
    fs.mkdirSync(run.metricsFile, { recursive: true }); // open(2) of it for appending fails with EISDIR
    const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 60_000, flushMaxBytes: 4096 });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      for (let i = 0; i < 1000; i++) logger.log('loss', i, { step: i });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/cannot append to the spool .*EISDIR.*will retry/);
    } finally {
      warn.mockRestore();
    }
    fs.rmdirSync(run.metricsFile);
    logger.flush();
    expect(readLines(run.metricsFile).map((l) => l.step)).toEqual([...Array(1000).keys()]);
  });

  test('past maxHeldBytes of held lines, log() throws naming the spool and why it cannot be written', () => {
    const run = tempRun();
    fs.mkdirSync(run.metricsFile, { recursive: true });
    const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 60_000, flushMaxBytes: 512, maxHeldBytes: 2048 });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      let thrown: Error | undefined;
      let logged = 0;
      for (; logged < 1000 && !thrown; logged++) {
        try {
          logger.log('loss', logged);
        } catch (err) {
          thrown = err as Error;
        }
      }
      expect(logged).toBeGreaterThan(10);
      expect(logged).toBeLessThan(200);
      expect(thrown?.message).toMatch(/cannot log: the spool .*metrics\.jsonl cannot be written \(EISDIR.*2048-byte cap \(maxHeldBytes\)/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('wait()', () => {
  test('resolves once the ack watermark covers the line, not before', async () => {
    const { logger, run } = newLogger();
    logger.log('before', 0);
    logger.flush();
    acknowledgeSpool(run.metricsFile); // covers "before" only
    let settled = false;
    const waiting = logger.log('my metric 1', 1).wait({ timeoutMs: 20_000 }).then(() => (settled = true));
    // wait() flushed the line; give the watcher a few rounds to prove the old watermark is not enough.
    expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['before', 'my metric 1']);
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    acknowledgeSpool(run.metricsFile);
    await waiting;
    expect(settled).toBe(true);
  });

  test('resolves at once for a line already covered, and ignores a watermark of another spool file', async () => {
    const { logger, run } = newLogger();
    const h = logger.log('x', 1);
    logger.flush();
    const w = acknowledgeSpool(run.metricsFile);
    await h.wait({ timeoutMs: 5_000 });
    fs.writeFileSync(`${run.metricsFile}.ack`, JSON.stringify({ ...w, ino: w.ino + 1, offset: 1e9 }));
    await expect(logger.log('y', 2).wait({ timeoutMs: 200 })).rejects.toThrow(/acknowledgements are for an older spool file/);
  });

  test('logger.wait() covers everything logged so far', async () => {
    const { logger, run } = newLogger();
    logger.log('a', 1);
    logger.log('b', 2);
    const all = logger.wait({ timeoutMs: 20_000 });
    acknowledgeSpool(run.metricsFile);
    await all;
  });

  test('times out saying that no agent is running when there is no agent.json', async () => {
    const { logger, run } = newLogger();
    const err = await logger.log('lonely', 1).wait({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AckTimeoutError);
    expect((err as AckTimeoutError).agentRunning).toBe(false);
    expect((err as AckTimeoutError).code).toBe('OUTPOST_ERR_UNAVAILABLE');
    expect((err as Error).message).toMatch(/timed out after 50 ms waiting for the service to acknowledge metric "lonely"/);
    expect((err as Error).message).toMatch(/nothing acknowledged yet/);
    expect((err as Error).message).toContain(`no agent is running for run run-1 (no ${path.join(run.runDir, 'agent.json')})`);
    expect((err as Error).message).toMatch(/outpost run/);
  });

  test('times out saying that the agent named by agent.json has exited', async () => {
    const { logger, run } = newLogger();
    fs.writeFileSync(path.join(run.runDir, 'agent.json'), JSON.stringify({ pid: 2 ** 22 + 12345, server: 'http://127.0.0.1:1', startedTime: new Date().toISOString() }));
    const err = (await logger.log('x', 1).wait({ timeoutMs: 50 }).catch((e: unknown) => e)) as AckTimeoutError;
    expect(err.agentRunning).toBe(false);
    expect(err.message).toMatch(/no agent is running .*names pid 4206649, which has exited/);
  });

  test('times out saying that an agent is running when agent.json names a live process', async () => {
    const { logger, run } = newLogger();
    logger.log('first', 1);
    logger.flush();
    acknowledgeSpool(run.metricsFile);
    fs.writeFileSync(path.join(run.runDir, 'agent.json'), JSON.stringify({ pid: process.pid, server: 'http://127.0.0.1:9', startedTime: new Date().toISOString() }));
    const err = (await logger.log('x', 1).wait({ timeoutMs: 50 }).catch((e: unknown) => e)) as AckTimeoutError;
    expect(err.agentRunning).toBe(true);
    expect(err.message).toMatch(new RegExp(`an agent is running \\(pid ${process.pid}, server http://127.0.0.1:9\\)`));
    expect(err.message).toMatch(/acknowledged up to byte \d+, the line ends by byte \d+/);
  });
});
