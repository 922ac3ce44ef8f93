/**
 * log-call: the cost of one log() call (validate, serialize, append: one write(2) per line), in
 * TypeScript and Python, beside a JSON line written by hand with one write(2) (what a crash-proof
 * program costs without a helper) and beside pushing the same line onto an in-memory array (what
 * logging costs at the least, and lost on a crash). Each figure is the CPU time (user + system)
 * of the best of ROUNDS rounds, so that other work on the machine does not count; the notes give
 * the logger's wall-clock time in that round.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Logger } from '../../src/client/logger';
import { pythonHelperDir } from '../../src/client/python-path';
import { Benchmark, BenchResult, ratio } from './harness';

const CALLS = 500_000;
const ROUNDS = 3;

/** CPU µs per call in the best round, and the wall-clock µs of that round. */
function microsPerCall(fn: () => void): { cpu: number; wall: number } {
  let best = { cpu: Infinity, wall: Infinity };
  for (let r = 0; r < ROUNDS; r++) {
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    fn();
    const used = process.cpuUsage(cpu);
    const round = { cpu: (used.user + used.system) / CALLS, wall: Number(process.hrtime.bigint() - wall) / 1000 / CALLS };
    if (round.cpu < best.cpu) best = round;
  }
  return best;
}

function results(lang: 'ts' | 'py', value: number, wall: number, rawWrite: number, memory: number, labels: { raw: string; memory: string }): BenchResult[] {
  const fixed = (n: number) => Number(n.toFixed(3));
  const notes = `CPU time per call; the logger's wall-clock time in that round: ${wall.toFixed(2)} µs`;
  return [
    {
      name: `log-call-${lang}`,
      unit: 'µs/call',
      value: fixed(value),
      baseline: fixed(rawWrite),
      ratio: ratio(value, rawWrite),
      aim: 'value <= 4',
      baselineLabel: labels.raw,
      notes,
    },
    {
      name: `log-call-${lang}-vs-memory`,
      unit: 'µs/call',
      value: fixed(value),
      baseline: fixed(memory),
      ratio: ratio(value, memory),
      baselineLabel: labels.memory,
    },
  ];
}

function typescript(dir: string): BenchResult[] {
  const spool = path.join(dir, 'ts', 'metrics.jsonl');
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  const logger = new Logger({ runId: 'bench', metricsFile: spool, outputsDir: path.join(dir, 'outputs') });
  const logged = microsPerCall(() => {
    for (let i = 0; i < CALLS; i++) logger.log('loss', i * 0.001, { step: i });
    logger.flush();
  });
  const raw = path.join(dir, 'ts', 'raw.jsonl');
  const { cpu: rawWrite } = microsPerCall(() => {
    const fd = fs.openSync(raw, 'w');
    try {
      for (let i = 0; i < CALLS; i++) fs.writeSync(fd, `${JSON.stringify({ name: 'loss', value: i * 0.001, step: i, time: Date.now() / 1000 })}\n`);
    } finally {
      fs.closeSync(fd);
    }
  });
  const { cpu: memory } = microsPerCall(() => {
    const lines: string[] = [];
    for (let i = 0; i < CALLS; i++) lines.push(`${JSON.stringify({ name: 'loss', value: i * 0.001, step: i, time: Date.now() / 1000 })}\n`);
  });
  checkLines(spool, CALLS * ROUNDS);
  return results('ts', logged.cpu, logged.wall, rawWrite, memory, { raw: 'JSON.stringify + fs.writeSync per line, by hand', memory: 'JSON.stringify + array push' });
}

function python(dir: string): BenchResult[] {
  const spool = path.join(dir, 'py', 'metrics.jsonl');
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  const script = path.resolve(__dirname, '../../../scripts/bench/log-call-timing.py');
  const out = spawnSync('python3', [script, String(CALLS), String(ROUNDS), path.join(dir, 'py', 'raw.jsonl')], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: pythonHelperDir(), OUTPOST_RUN_ID: 'bench', OUTPOST_METRICS_FILE: spool, OUTPOST_OUTPUTS_DIR: path.join(dir, 'outputs') },
  });
  if (out.status !== 0) throw new Error(`python3 ${script} failed: ${out.stderr || out.error?.message}`);
  const r = JSON.parse(out.stdout) as { log_us: number; log_wall_us: number; memory_us: number; raw_write_us: number };
  checkLines(spool, CALLS * ROUNDS);
  return results('py', r.log_us, r.log_wall_us, r.raw_write_us, r.memory_us, { raw: 'json.dumps + os.write per line, by hand', memory: 'format the line + list append' });
}

function checkLines(spool: string, expected: number): void {
  const lines = fs.readFileSync(spool, 'utf8').split('\n').length - 1;
  if (lines !== expected) throw new Error(`the spool ${spool} holds ${lines} lines, not ${expected}`);
}

export const benchmark: Benchmark = {
  name: 'log-call',
  description: `one log() call (CPU time), best of ${ROUNDS} rounds of ${CALLS.toLocaleString('en-US')} calls, beside a JSON line written by hand (one write(2) each) and beside pushing it onto an array`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-log-'));
    try {
      return [...typescript(dir), ...python(dir)];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
