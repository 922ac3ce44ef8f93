/**
 * log-call: the cost of one log() call (validate, serialize, buffer; flushes amortised) over
 * 1,000,000 calls, beside pushing the same line onto an in-memory array, in TypeScript and Python.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Logger } from '../../src/client/logger';
import { pythonHelperDir } from '../../src/client/python-path';
import { Benchmark, BenchResult, ratio } from './harness';

const CALLS = 1_000_000;

function microsPerCall(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1000 / CALLS;
}

function typescript(dir: string): BenchResult {
  const spool = path.join(dir, 'ts', 'metrics.jsonl');
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  const logger = new Logger({ runId: 'bench', metricsFile: spool, outputsDir: path.join(dir, 'outputs') });
  const value = microsPerCall(() => {
    for (let i = 0; i < CALLS; i++) logger.log('loss', i * 0.001, { step: i });
    logger.flush();
  });
  const baseline = microsPerCall(() => {
    const lines: string[] = [];
    for (let i = 0; i < CALLS; i++) lines.push(`${JSON.stringify({ name: 'loss', value: i * 0.001, step: i, time: Date.now() / 1000 })}\n`);
  });
  const lines = fs.readFileSync(spool, 'utf8').split('\n').length - 1;
  if (lines !== CALLS) throw new Error(`the spool holds ${lines} lines, not ${CALLS}`);
  return {
    name: 'log-call-ts',
    unit: 'µs/call',
    value: Number(value.toFixed(3)),
    baseline: Number(baseline.toFixed(3)),
    ratio: ratio(value, baseline),
    aim: 'value < 2',
    baselineLabel: 'JSON.stringify + array push',
  };
}

function python(dir: string): BenchResult {
  const spool = path.join(dir, 'py', 'metrics.jsonl');
  const script = path.resolve(__dirname, '../../../scripts/bench/log-call-timing.py');
  const out = spawnSync('python3', [script, String(CALLS)], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: pythonHelperDir(), OUTPOST_RUN_ID: 'bench', OUTPOST_METRICS_FILE: spool, OUTPOST_OUTPUTS_DIR: path.join(dir, 'outputs') },
  });
  if (out.status !== 0) throw new Error(`python3 ${script} failed: ${out.stderr || out.error?.message}`);
  const { log_us: value, baseline_us: baseline } = JSON.parse(out.stdout) as { log_us: number; baseline_us: number };
  const lines = fs.readFileSync(spool, 'utf8').split('\n').length - 1;
  if (lines !== CALLS) throw new Error(`the Python spool holds ${lines} lines, not ${CALLS}`);
  return {
    name: 'log-call-py',
    unit: 'µs/call',
    value: Number(value.toFixed(3)),
    baseline: Number(baseline.toFixed(3)),
    ratio: ratio(value, baseline),
    aim: 'value < 10',
    baselineLabel: 'format the line + list append',
  };
}

export const benchmark: Benchmark = {
  name: 'log-call',
  description: `one log() call amortised over ${CALLS.toLocaleString('en-US')} calls, beside pushing the same line onto an array`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-log-'));
    try {
      return [typescript(dir), python(dir)];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
