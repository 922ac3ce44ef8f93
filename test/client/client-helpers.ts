/** Shared by the client tests: temp run folders, playing the agent's part, running Python. */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { AckWatermark } from '../../src/run-folder';

export const repoRoot = path.resolve(__dirname, '../..');
export const pythonDir = path.join(repoRoot, 'src/client/python');

export interface TempRun {
  dir: string;
  runDir: string;
  metricsFile: string;
  outputsDir: string;
  env: NodeJS.ProcessEnv;
}

export function tempRun(runId = 'run-1'): TempRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-client-'));
  const runDir = path.join(dir, '.outpost', 'runs', runId);
  fs.mkdirSync(runDir, { recursive: true });
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  const outputsDir = path.join(dir, 'outputs');
  const env = { ...process.env, OUTPOST_RUN_ID: runId, OUTPOST_METRICS_FILE: metricsFile, OUTPOST_OUTPUTS_DIR: outputsDir, PYTHONPATH: pythonDir };
  return { dir, runDir, metricsFile, outputsDir, env };
}

export function readLines(file: string): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** What the agent does after an acknowledgement: atomically rewrite <spool>.ack to cover the spool as it is now. */
export function acknowledgeSpool(metricsFile: string): AckWatermark {
  const st = fs.statSync(metricsFile);
  const lines = fs.readFileSync(metricsFile, 'utf8').split('\n').length - 1;
  const w: AckWatermark = { stream: 's1', ino: st.ino, offset: st.size, line: lines, time: new Date().toISOString() };
  const tmp = `${metricsFile}.ack.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(w));
  fs.renameSync(tmp, `${metricsFile}.ack`);
  return w;
}

/** Waits (polling) until the file holds `n` complete lines. */
export async function untilLines(file: string, n: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (text.split('\n').length - 1 >= n) return;
    if (Date.now() > deadline) throw new Error(`${file} has ${text.split('\n').length - 1} lines, waited for ${n}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function runPython(code: string, opts: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  return spawnSync('python3', ['-c', code], { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeout ?? 30_000 });
}
