/**
 * crash-loss: points lost, of the log() calls that had returned, when the logging process is
 * SIGKILLed while it logs one point a millisecond (after KILL_AFTER_MS), for the Python helper and
 * the TypeScript logger, beside a JSON line written by hand in the same language (median of RUNS).
 * The writer reports each step on a pipe once its call returned; the points lost are the reported
 * steps missing from the spool.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { pythonHelperDir } from '../../src/client/python-path';
import { Benchmark, BenchResult } from './harness';

const RUNS = 3;
const KILL_AFTER_MS = 3000;

interface Outcome {
  returned: number;
  lost: number;
}

/** One writer, SIGKILLed KILL_AFTER_MS after its first point: how many calls returned, how many of those are not in the spool. */
function killed(cmd: string, args: string[], dir: string): Promise<Outcome> {
  const spool = path.join(dir, 'metrics.jsonl');
  const env = { ...process.env, PYTHONPATH: pythonHelperDir(), OUTPOST_RUN_ID: 'bench', OUTPOST_METRICS_FILE: spool, OUTPOST_OUTPUTS_DIR: path.join(dir, 'outputs') };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      timer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // 'close': stdout is drained, so every step reported before the kill is in `out`.
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`${cmd} ${args.join(' ')} ended by itself (${code}): ${stderr}`));
      const reported = out.split('\n').filter((l) => /^\d+$/.test(l));
      const returned = reported.length === 0 ? 0 : Number(reported[reported.length - 1]) + 1;
      const present = new Set<number>();
      const text = fs.existsSync(spool) ? fs.readFileSync(spool, 'utf8') : '';
      for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
        if (line) present.add((JSON.parse(line) as { step: number }).step);
      }
      let lost = 0;
      for (let i = 0; i < returned; i++) if (!present.has(i)) lost++;
      resolve({ returned, lost });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(root: string, name: string, writer: (mode: string) => [string, string[]], modes: [string, string]): Promise<BenchResult> {
  const runs: Record<string, Outcome[]> = { [modes[0]]: [], [modes[1]]: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const mode of modes) {
      const dir = fs.mkdtempSync(path.join(root, `${mode}-`));
      const [cmd, args] = writer(mode);
      runs[mode].push(await killed(cmd, args, dir));
    }
  }
  const value = median(runs[modes[0]].map((o) => o.lost));
  const baseline = median(runs[modes[1]].map((o) => o.lost));
  const said = (mode: string) => runs[mode].map((o) => `${o.lost} of ${o.returned}`).join(', ');
  return {
    name,
    unit: 'points lost',
    value,
    baseline,
    // The aim is 0 lost: a ratio of two zeros says nothing, so it is value - baseline here.
    ratio: value - baseline,
    aim: 'value = 0',
    baselineLabel: 'a JSON line written by hand per point',
    notes: `lost of the calls returned, per run: logger ${said(modes[0])}; by hand ${said(modes[1])}`,
  };
}

export const benchmark: Benchmark = {
  name: 'crash-loss',
  description: `points lost of the log() calls returned when the logging process is SIGKILLed after ${KILL_AFTER_MS / 1000} s at 1 point/ms (median of ${RUNS}), beside a JSON line written by hand`,
  async run() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-crash-'));
    const pyWriter = path.resolve(__dirname, '../../../scripts/bench/crash-loss-writer.py');
    const nodeWriter = path.join(__dirname, 'crash-loss-writer.js');
    try {
      return [
        await measure(root, 'crash-loss-py', (mode) => ['python3', [pyWriter, mode]], ['helper', 'raw']),
        await measure(root, 'crash-loss-ts', (mode) => [process.execPath, [nodeWriter, mode]], ['logger', 'raw']),
      ];
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
};
