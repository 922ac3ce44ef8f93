/**
 * hot-folder: 10,000 files in one folder of outputs/, all stored; then one file in that folder
 * appended ten times a second for 20 s. The agent's CPU over those seconds, beside a bare
 * fs.watch of the same folder seeing the same events (the least any watcher can cost).
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { ratio, type Benchmark } from './harness';
import { cpuSeconds, sleep, startAgentRig, until } from './processes';

const FILES = 10_000;
const SECONDS = 20;

export const benchmark: Benchmark = {
  name: 'hot-folder',
  description: `${FILES.toLocaleString('en-US')} files in one folder, then one of them appended 10 times a second for ${SECONDS} s`,
  async run() {
    const rig = await startAgentRig('hot');
    const { dir, url, runId, agent } = rig;
    const outputs = path.join(dir, 'outputs');
    const bare = spawn(process.execPath, ['-e', `let n = 0; require('fs').watch(${JSON.stringify(outputs)}, () => n++); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
    try {
      for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(outputs, `sample-${i}.bin`), Buffer.alloc(64, i % 251));
      await until(async () => (await axios.get(`${url}/api/v1/runs/${runId}/artifacts`)).data.length === FILES, 'all files stored', 600_000, 500);
      await sleep(2000);
      const a0 = cpuSeconds(agent.child.pid!);
      const b0 = cpuSeconds(bare.pid!);
      const log = path.join(outputs, 'train.log');
      for (let k = 0; k < SECONDS * 10; k++) {
        fs.appendFileSync(log, `step ${k} loss ${1 / (k + 1)}\n`);
        await sleep(100);
      }
      const agentCpu = ((cpuSeconds(agent.child.pid!) - a0) / SECONDS) * 100;
      const bareCpu = ((cpuSeconds(bare.pid!) - b0) / SECONDS) * 100;
      return [
        {
          name: 'hot-folder-cpu',
          unit: '% of a core',
          value: agentCpu,
          baseline: bareCpu,
          baselineLabel: 'one bare fs.watch on the folder, same events',
          ratio: ratio(agentCpu, Math.max(bareCpu, 0.05)),
          notes: `includes uploading train.log as it grows (each version once stable for agent.fileStableMs)`,
        },
      ];
    } finally {
      bare.kill();
      await rig.close();
    }
  },
};
