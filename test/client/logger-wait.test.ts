import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { AckTimeoutError } from '../../src/client/ack-timeout-error';
import { getLogger } from '../../src/client/get-logger';
import { Logger } from '../../src/client/logger';
import { acknowledgeSpool, readLines, tempRun, TempRun } from './client-helpers';

/** agent.json as a live agent leaves it: `pid` must name a live process for the agent to count as running. */
function playAgent(run: TempRun, pid: number): void {
  fs.writeFileSync(path.join(run.runDir, 'agent.json'), JSON.stringify({ pid, server: 'http://127.0.0.1:9', startedTime: new Date().toISOString() }));
}

function newLogger(run = tempRun()): { logger: Logger; run: ReturnType<typeof tempRun> } {
  // A long retry interval: held lines are written only by wait() and flush().
  const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 60_000, ackPollMs: 20 });
  return { logger, run };
}

describe('log() and the spool', () => {
  test('log() appends each line at once, whole, in call order: nothing waits in memory', () => {
    const { logger, run } = newLogger();
    logger.log('a', 1);
    expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['a']);
    logger.log('b', [1, 2]);
    logger.logMetrics({ c: 0.5, d: 'x' }, { step: 2 });
    expect(readLines(run.metricsFile).map((l) => l.name ?? Object.keys(l.metrics as object).join())).toEqual(['a', 'b', 'c,d']);
  });

  test('a spool moved away or removed is followed: the next lines go to a new file at its path', () => {
    const run = tempRun();
    // spoolCheckMs 0: the path is checked at every line, so the test needs no clock.
    const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { spoolCheckMs: 0 });
    logger.log('a', 1);
    fs.renameSync(run.metricsFile, `${run.metricsFile}.old`);
    logger.log('b', 2);
    fs.unlinkSync(run.metricsFile);
    logger.log('c', 3);
    expect(readLines(`${run.metricsFile}.old`).map((l) => l.name)).toEqual(['a']);
    expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['c']);
  });

  test('lines held while the spool cannot be written are retried by the timer, without any call', async () => {
    const run = tempRun();
    fs.mkdirSync(run.metricsFile, { recursive: true }); // open(2) of it for appending fails with EISDIR
    const logger = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 5 });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      logger.log('a', 1);
      logger.log('b', 2);
      fs.rmdirSync(run.metricsFile);
      for (let i = 0; i < 400 && !fs.existsSync(run.metricsFile); i++) await new Promise((r) => setTimeout(r, 5));
      expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['a', 'b']);
    } finally {
      warn.mockRestore();
    }
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

  test('strict, times out saying that an agent is running when agent.json names a live process', async () => {
    const { logger, run } = newLogger();
    logger.log('first', 1);
    logger.flush();
    acknowledgeSpool(run.metricsFile);
    playAgent(run, process.pid);
    const err = (await logger.log('x', 1).wait({ timeoutMs: 50, strict: true }).catch((e: unknown) => e)) as AckTimeoutError;
    expect(err.agentRunning).toBe(true);
    expect(err.message).toMatch(new RegExp(`an agent is running \\(pid ${process.pid}, server http://127.0.0.1:9\\)`));
    expect(err.message).toMatch(/acknowledged up to byte \d+, the line ends by byte \d+/);
  });
});

describe('wait() while the service is silent and an agent owns the run (not strict, the default)', () => {
  const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => e);

  test('returns after its timeout with the line fsynced in the spool and one warning; later waits return at once until the watermark moves', async () => {
    const { logger, run } = newLogger();
    logger.log('first', 1);
    logger.flush();
    acknowledgeSpool(run.metricsFile);
    playAgent(run, process.pid);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await logger.log('epoch 1', 1).wait({ timeoutMs: 50 });
      expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['first', 'epoch 1']);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(
        new RegExp(
          `^outpost: the service has not acknowledged metric "epoch 1" within 50 ms \\(.*metrics\\.jsonl: acknowledged up to byte \\d+, the line ends by byte \\d+\\); ` +
            `the line is safe in the spool \\(fsynced\\) and the agent \\(pid ${process.pid}, server http://127.0.0.1:9\\) will ship it once the service answers\\. .*OUTPOST_STRICT_WAIT=1 or call wait\\(\\{ strict: true \\}\\)`,
        ),
      );
      // The watermark has not moved: no second timeout to sit out (Infinity would never end otherwise).
      await logger.log('epoch 2', 2).wait({ timeoutMs: Infinity });
      await logger.wait({ timeoutMs: Infinity });
      expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['first', 'epoch 1', 'epoch 2']);

      // The service is back: waits wait for the acknowledgement again.
      acknowledgeSpool(run.metricsFile);
      let settled = false;
      const waiting = logger.log('epoch 3', 3).wait({ timeoutMs: Infinity }).then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 150));
      expect(settled).toBe(false);
      acknowledgeSpool(run.metricsFile);
      await waiting;

      // A second silence: the same policy, and still only the one warning of this process.
      await logger.log('epoch 4', 4).wait({ timeoutMs: 50 });
      await logger.log('epoch 5', 5).wait({ timeoutMs: Infinity });
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  test('strict waits reject as before: per call, by the strictWait setting, and by OUTPOST_STRICT_WAIT=1', async () => {
    const { logger, run } = newLogger();
    playAgent(run, process.pid);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      // Silent state first: a strict wait still sits out its timeout and rejects.
      await logger.log('a', 1).wait({ timeoutMs: 30 });
      const perCall = await settle(logger.log('b', 2).wait({ timeoutMs: 30, strict: true }));
      expect(perCall).toBeInstanceOf(AckTimeoutError);
      expect((perCall as AckTimeoutError).agentRunning).toBe(true);
      expect((perCall as Error).message).toMatch(/timed out after 30 ms .*an agent is running .*the line is safe in the spool/);

      const bySetting = new Logger({ runId: 'run-1', metricsFile: run.metricsFile, outputsDir: run.outputsDir }, { flushIntervalMs: 60_000, ackPollMs: 20, strictWait: true });
      expect(await settle(bySetting.log('c', 3).wait({ timeoutMs: 30 }))).toBeInstanceOf(AckTimeoutError);
      // ...unless the call says otherwise.
      await bySetting.log('d', 4).wait({ timeoutMs: 30, strict: false });

      const env = { OUTPOST_RUN_ID: 'run-1', OUTPOST_METRICS_FILE: run.metricsFile, OUTPOST_OUTPUTS_DIR: run.outputsDir };
      const byEnv = getLogger({ env: { ...env, OUTPOST_STRICT_WAIT: '1' }, settings: { flushIntervalMs: 60_000, ackPollMs: 20 } });
      expect(await settle(byEnv.log('e', 5).wait({ timeoutMs: 30 }))).toBeInstanceOf(AckTimeoutError);
      const notStrict = getLogger({ env: { ...env, OUTPOST_STRICT_WAIT: '0' }, settings: { flushIntervalMs: 60_000, ackPollMs: 20 } });
      await notStrict.log('f', 6).wait({ timeoutMs: 30 });

      // A value that is neither: said, and the default kept.
      const typo = getLogger({ env: { ...env, OUTPOST_STRICT_WAIT: 'ture' }, settings: { flushIntervalMs: 60_000, ackPollMs: 20 } });
      expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(expect.stringMatching(/^outpost: OUTPOST_STRICT_WAIT="ture" is not one of 1, true, yes, on, 0, false, no, off; wait\(\) stays not strict$/));
      await typo.log('g', 7).wait({ timeoutMs: 30 });
      expect(readLines(run.metricsFile).map((l) => l.name)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    } finally {
      warn.mockRestore();
    }
  });

  test('without a live agent it rejects, also when the agent dies while the service is silent', async () => {
    const { logger, run } = newLogger();
    const agent = spawn('sleep', ['60']);
    const exited = new Promise((r) => agent.on('exit', r));
    playAgent(run, agent.pid!);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await logger.log('a', 1).wait({ timeoutMs: 30 });
      agent.kill('SIGKILL');
      await exited;
      const err = await settle(logger.log('b', 2).wait({ timeoutMs: 30 }));
      expect(err).toBeInstanceOf(AckTimeoutError);
      expect((err as AckTimeoutError).agentRunning).toBe(false);
      expect((err as Error).message).toMatch(new RegExp(`no agent is running for run run-1 \\(.*names pid ${agent.pid}, which has exited`));
    } finally {
      warn.mockRestore();
      agent.kill('SIGKILL');
    }
  });
});

test('a hostile agent.json or watermark (nested 100,000 deep, a pid out of range) is no agent or no watermark, never a RangeError', async () => {
  const { logger, run } = newLogger();
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const agentFile = path.join(run.runDir, 'agent.json');
  const strictly = (name: string) => logger.log(name, 1).wait({ timeoutMs: 30, strict: true }).catch((e: unknown) => e) as Promise<AckTimeoutError>;

  fs.writeFileSync(agentFile, `{"pid":${process.pid},"server":${deep}}`);
  fs.writeFileSync(`${run.metricsFile}.ack`, deep);
  const deepServer = await strictly('a');
  expect(deepServer).toBeInstanceOf(AckTimeoutError);
  expect(deepServer.message).toMatch(new RegExp(`nothing acknowledged yet\\).*an agent is running \\(pid ${process.pid}, server unknown\\)`));

  fs.writeFileSync(agentFile, '{"pid":1e300,"server":"http://127.0.0.1:9"}');
  const hugePid = await strictly('b');
  expect(hugePid).toBeInstanceOf(AckTimeoutError);
  expect(hugePid.agentRunning).toBe(false);
});
