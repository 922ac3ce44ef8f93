/**
 * tfevents: 1,000,000 scalars written into a TensorBoard event file, until the agent has them all
 * stored (its sources checkpoint, written after each acknowledgement), beside the same number of
 * spool lines through the same agent and service in the same run. Each is measured twice, one
 * after the other in turn, and the better of each kept: on a machine shared with other work the
 * load changes within a run. Then freshness: one scalar flushed every 10 ms, flush-to-stored
 * latency, beside the spool's append-to-acknowledged.
 */
import fs from 'fs';
import path from 'path';
import { encodeEvent } from '../../src/agent/sources/tfevents/event-decoder';
import { frameRecord } from '../../src/agent/sources/tfevents/record-framing';
import { SOURCES_FILE } from '../../src/run-folder';
import { percentile, ratio, type Benchmark, type BenchResult } from './harness';
import { ackedLine, sleep, startAgentRig, until, type AgentRig } from './processes';

const SCALARS = 1_000_000;
const CHUNK = 20_000;
const FRESH_EVERY_MS = 10;
const FRESH_SECONDS = 10;
const EVENT_FILE = 'runs/bench/events.out.tfevents.1700000000.bench.1.0';
const ROUNDS = 2;

/** The number of the last scalar of the event file the agent has seen acknowledged. */
function storedScalars(rig: AgentRig): number {
  try {
    const positions = (JSON.parse(fs.readFileSync(path.join(rig.dir, '.outpost', 'runs', rig.runId, SOURCES_FILE), 'utf8')) as { positions: Record<string, { seq: number }> }).positions;
    return positions[`tfevents:${EVENT_FILE}`]?.seq ?? 0;
  } catch {
    return 0;
  }
}

function eventRecords(from: number, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let k = from; k < from + n; k++) parts.push(frameRecord(encodeEvent({ wall_time: 1_700_000_000 + k / 1000, step: k, summary: { value: [{ tag: 'loss', simple_value: 1 / (1 + k) }] } })));
  return Buffer.concat(parts);
}

function spoolLines(from: number, n: number): Buffer {
  let s = '';
  for (let k = from; k < from + n; k++) s += `{"name":"loss","value":${1 / (1 + k)},"step":${k},"time":${1_700_000_000 + k / 1000}}\n`;
  return Buffer.from(s);
}

/** Writes `chunks` to `file` one after another (a turn of the event loop between two), and waits until `done()`; seconds taken. */
async function throughput(file: string, chunks: Buffer[], done: () => boolean): Promise<number> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const t0 = process.hrtime.bigint();
  const fd = fs.openSync(file, 'a');
  for (const c of chunks) {
    fs.writeSync(fd, c);
    await new Promise((r) => setImmediate(r));
  }
  fs.closeSync(fd);
  await until(done, 'everything stored');
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** One record (or line) written every FRESH_EVERY_MS; ms from each write until `stored()` covers it. */
async function freshness(file: string, make: (k: number) => Buffer, stored: () => number): Promise<number[]> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const total = (FRESH_SECONDS * 1000) / FRESH_EVERY_MS;
  const written: number[] = [];
  const latencies: number[] = [];
  const fd = fs.openSync(file, 'a');
  const t0 = performance.now();
  while (latencies.length < total) {
    const due = Math.min(total, Math.floor((performance.now() - t0) / FRESH_EVERY_MS) + 1);
    while (written.length < due) {
      fs.writeSync(fd, make(written.length));
      written.push(performance.now());
    }
    const n = stored();
    const seen = performance.now();
    while (latencies.length < Math.min(n, written.length)) latencies.push(seen - written[latencies.length]);
    await sleep(1);
  }
  fs.closeSync(fd);
  return latencies.sort((a, b) => a - b);
}

export const benchmark: Benchmark = {
  name: 'tfevents',
  description: `${SCALARS.toLocaleString('en-US')} scalars in a TensorBoard event file until stored, beside as many spool lines; then flush-to-stored freshness (agent and service as processes)`,
  async run(): Promise<BenchResult[]> {
    // Made before the clock starts, both: the producers' own cost is not the agent's.
    const events: Buffer[] = [];
    const lines: Buffer[] = [];
    for (let i = 0; i < SCALARS; i += CHUNK) {
      events.push(eventRecords(i, CHUNK));
      lines.push(spoolLines(i, CHUNK));
    }
    let spoolSeconds = Infinity;
    let seconds = Infinity;
    let spoolFresh: number[] = [];
    let fresh: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const spoolRig = await startAgentRig('tfevents-spool');
      try {
        spoolSeconds = Math.min(spoolSeconds, await throughput(spoolRig.spool, lines, () => ackedLine(spoolRig.spool) >= SCALARS));
        if (round === ROUNDS) spoolFresh = await freshness(spoolRig.spool, (k) => spoolLines(SCALARS + k, 1), () => ackedLine(spoolRig.spool) - SCALARS);
      } finally {
        await spoolRig.close();
      }
      const rig = await startAgentRig('tfevents');
      try {
        const file = path.join(rig.dir, 'outputs', EVENT_FILE);
        seconds = Math.min(seconds, await throughput(file, events, () => storedScalars(rig) >= SCALARS));
        if (round === ROUNDS) fresh = await freshness(file, (k) => eventRecords(SCALARS + k, 1), () => storedScalars(rig) - SCALARS);
      } finally {
        await rig.close();
      }
    }
    const value = SCALARS / seconds;
    const baseline = SCALARS / spoolSeconds;
    const p50 = percentile(fresh, 50);
    const p99 = percentile(fresh, 99);
    const base50 = percentile(spoolFresh, 50);
    const base99 = percentile(spoolFresh, 99);
    const label = `the spool, ${FRESH_EVERY_MS} ms apart`;
    return [
      {
        name: 'tfevents',
        unit: 'points/s',
        value,
        baseline,
        baselineLabel: 'the same scalars as spool lines, same run',
        ratio: ratio(value, baseline),
        aim: 'ratio >= 0.5',
        notes: `${seconds.toFixed(2)} s from the first write to the last scalar stored; the spool: ${spoolSeconds.toFixed(2)} s (the better of ${ROUNDS} rounds each)`,
      },
      { name: 'tfevents-freshness-p50', unit: 'ms', value: p50, baseline: base50, baselineLabel: label, ratio: ratio(p50, base50), notes: `${fresh.length} scalars, one flushed every ${FRESH_EVERY_MS} ms` },
      { name: 'tfevents-freshness-p99', unit: 'ms', value: p99, baseline: base99, baselineLabel: label, ratio: ratio(p99, base99), aim: 'value < 1000' },
    ];
  },
};
