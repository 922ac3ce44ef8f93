/**
 * freshness: lines appended at 1,000 lines/s; p50 and p99 ms from append to acknowledgement (the
 * ack watermark), beside a bare HTTP round trip storing one line in the same service.
 */
import fs from 'fs';
import axios from 'axios';
import { percentile, ratio, type Benchmark } from './harness';
import { ackedLine, sleep, startAgentRig } from './processes';

const RATE = 1000;
const SECONDS = 10;

export const benchmark: Benchmark = {
  name: 'freshness',
  description: `append-to-acknowledged latency at ${RATE} lines/s for ${SECONDS} s (agent and service as processes)`,
  async run() {
    const rig = await startAgentRig('fresh');
    const { url, spool } = rig;
    try {
      await sleep(300);
      const total = RATE * SECONDS;
      const appended: number[] = [];
      const latencies: number[] = [];
      let acked = 0;
      const fd = fs.openSync(spool, 'a');
      const t0 = performance.now();
      // One line each millisecond on schedule; the watermark is read between appends.
      while (acked < total) {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - t0) * (RATE / 1000)) + 1);
        while (appended.length < due) {
          fs.writeSync(fd, `{"name":"fresh","value":${appended.length}}\n`);
          appended.push(performance.now());
        }
        const line = ackedLine(spool);
        const seen = performance.now();
        for (; acked < line; acked++) latencies.push(seen - appended[acked]);
        if (appended.length >= total && acked < total) await sleep(1);
        else await new Promise((r) => setImmediate(r));
      }
      fs.closeSync(fd);
      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);

      // Baseline: the same service storing one line per request, no agent, no spool.
      const api = axios.create({ baseURL: `${url}/api/v1` });
      await api.put('/runs/bench-rtt', {});
      const rtts: number[] = [];
      for (let i = 1; i <= 1000; i++) {
        const a = performance.now();
        await api.post('/runs/bench-rtt/metrics', { stream: 's', lines: [{ seq: i, time: Date.now() / 1000, metrics: { x: i } }] });
        rtts.push(performance.now() - a);
      }
      rtts.sort((a, b) => a - b);
      const base50 = percentile(rtts, 50);
      const base99 = percentile(rtts, 99);
      const label = 'one line per bare HTTP request';
      return [
        { name: 'freshness-p50', unit: 'ms', value: p50, baseline: base50, baselineLabel: label, ratio: ratio(p50, base50), notes: `${latencies.length} lines` },
        { name: 'freshness-p99', unit: 'ms', value: p99, baseline: base99, baselineLabel: label, ratio: ratio(p99, base99), aim: 'value < 250' },
      ];
    } finally {
      await rig.close();
    }
  },
};

