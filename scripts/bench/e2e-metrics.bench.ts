/**
 * e2e-metrics: a writer appends 1,000,000 lines; lines/s until the agent has them all
 * acknowledged by the service (separate processes), beside straight SQLite inserts of the same rows.
 */
import fs from 'fs';
import { ratio, type Benchmark } from './harness';
import { ackedLine, startAgentRig, until } from './processes';
import { straightSqliteInsert } from './sqlite-baseline';

const LINES = 1_000_000;
const CHUNK = 20_000;


export const benchmark: Benchmark = {
  name: 'e2e-metrics',
  description: `${LINES.toLocaleString('en-US')} lines appended to a spool, until all are acknowledged (agent and service as processes)`,
  async run() {
    const rig = await startAgentRig('e2e');
    const { spool } = rig;
    try {
      const t0 = process.hrtime.bigint();
      const fd = fs.openSync(spool, 'a');
      for (let i = 0; i < LINES; i += CHUNK) {
        let s = '';
        for (let k = i; k < i + CHUNK; k++) s += `{"name":"loss","value":${k * 0.5},"step":${k}}\n`;
        fs.writeSync(fd, s);
        await new Promise((r) => setImmediate(r));
      }
      fs.closeSync(fd);
      await until(() => ackedLine(spool) >= LINES, 'all lines acknowledged');
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const value = LINES / seconds;
      const baseline = await straightSqliteInsert(LINES);
      return [
        {
          name: 'e2e-metrics',
          unit: 'lines/s',
          value,
          baseline,
          baselineLabel: 'same rows straight into SQLite',
          ratio: ratio(value, baseline),
          aim: 'ratio >= 0.4',
          notes: `${seconds.toFixed(2)} s from the first append to the last acknowledgement`,
        },
      ];
    } finally {
      await rig.close();
    }
  },
};
