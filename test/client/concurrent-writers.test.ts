/** Two processes with four threads each append to one spool at once: every line whole, none lost, each writer in order. */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { pythonDir, repoRoot, tempRun } from './client-helpers';

const LINES = 3000; // per thread

function exitOf(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const pythonWriter = `
import threading, outpost_logger
logger = outpost_logger.get_logger()
def work(t):
    for i in range(${LINES}):
        # Some lines are longer than PIPE_BUF (4096), where pipes stop being atomic.
        pad = "p" * (5000 if i % 97 == 0 else i % 50)
        logger.log("py-%d" % t, "%d:%s" % (i, pad), step=i)
threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for th in threads: th.start()
for th in threads: th.join()
`;

const nodeWriter = `
const { Worker, isMainThread, workerData } = require('worker_threads');
if (isMainThread) {
  for (let t = 0; t < 4; t++) new Worker(__filename, { workerData: t });
} else {
  const { getLogger } = require(${JSON.stringify(path.join(repoRoot, 'dist/src/client'))});
  const logger = getLogger();
  for (let i = 0; i < ${LINES}; i++) {
    const pad = 'n'.repeat(i % 97 === 0 ? 5000 : i % 50);
    logger.log('node-' + workerData, i + ':' + pad, { step: i });
  }
}
`;

test('a Python process and a Node process, four threads each, never tear or lose a line', async () => {
  const run = tempRun();
  const nodeScript = path.join(run.dir, 'writer.js');
  fs.writeFileSync(nodeScript, nodeWriter);
  const env = { ...run.env, PYTHONPATH: pythonDir };
  const [py, node] = await Promise.all([
    exitOf('python3', ['-c', pythonWriter], env, run.dir),
    exitOf(process.execPath, [nodeScript], env, run.dir),
  ]);
  expect(py).toEqual({ code: 0, stderr: '' });
  expect(node).toEqual({ code: 0, stderr: '' });

  const text = fs.readFileSync(run.metricsFile, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  const next = new Map<string, number>();
  const lines = text.slice(0, -1).split('\n');
  for (const raw of lines) {
    const line = JSON.parse(raw) as { name: string; value: string; step: number };
    const [i, pad] = line.value.split(':');
    expect(Number(i)).toBe(line.step);
    expect(pad).toMatch(/^(p*|n*)$/);
    // Each writer's lines arrive in its own call order.
    expect(line.step).toBe(next.get(line.name) ?? 0);
    next.set(line.name, line.step + 1);
  }
  expect(lines).toHaveLength(8 * LINES);
  expect([...next.entries()].sort()).toEqual(
    ['node-0', 'node-1', 'node-2', 'node-3', 'py-0', 'py-1', 'py-2', 'py-3'].map((n) => [n, LINES]),
  );
});
