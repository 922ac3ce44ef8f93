/**
 * many-files: 10,000 files of 4 KiB created at once in outputs/; seconds until all are stored,
 * beside `cp -r` of the same folder; then the agent's CPU over 60 idle seconds, beside an idle
 * Node process's over the same seconds.
 */
import { execFileSync, spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { ratio, type Benchmark } from './harness';
import { cpuSeconds, sleep, startAgentRig, until } from './processes';

const FILES = 10_000;
const IDLE_SECONDS = 60;

export const benchmark: Benchmark = {
  name: 'many-files',
  description: `${FILES.toLocaleString('en-US')} files of 4 KiB at once, then ${IDLE_SECONDS} idle seconds`,
  async run() {
    const rig = await startAgentRig('many');
    const { dir, url, runId, agent } = rig;
    const idleNode = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const outputs = path.join(dir, 'outputs');
      fs.mkdirSync(outputs, { recursive: true });
      const t0 = performance.now();
      for (let i = 0; i < FILES; i++) {
        const sub = path.join(outputs, `shard-${i % 100}`);
        if (i < 100) fs.mkdirSync(sub);
        const body = Buffer.alloc(4096, i % 251);
        body.writeUInt32LE(i, 0);
        fs.writeFileSync(path.join(sub, `sample-${i}.bin`), body);
      }
      await until(
        async () => (await axios.get(`${url}/api/v1/runs/${runId}/artifacts`)).data.length === FILES,
        'all files stored',
        600_000,
        1000,
      );
      const seconds = (performance.now() - t0) / 1000;

      const c0 = performance.now();
      execFileSync('cp', ['-r', outputs, path.join(dir, 'copy')]);
      const cpSeconds = (performance.now() - c0) / 1000;

      // Idle: nothing changes; what remains is watching and the periodic reconciliation scan.
      await sleep(2000);
      const a0 = cpuSeconds(agent.child.pid!);
      const n0 = cpuSeconds(idleNode.pid!);
      await sleep(IDLE_SECONDS * 1000);
      const agentCpu = ((cpuSeconds(agent.child.pid!) - a0) / IDLE_SECONDS) * 100;
      const nodeCpu = ((cpuSeconds(idleNode.pid!) - n0) / IDLE_SECONDS) * 100;
      return [
        { name: 'many-files', unit: 's', value: seconds, baseline: cpSeconds, baselineLabel: 'cp -r of the same folder', ratio: ratio(seconds, cpSeconds), aim: 'value < 15' },
        {
          name: 'many-files-idle-cpu',
          unit: '% of a core',
          value: agentCpu,
          baseline: nodeCpu,
          baselineLabel: 'an idle node process',
          ratio: ratio(agentCpu, Math.max(nodeCpu, 0.01)),
          aim: 'value < 1',
          notes: `agent watching ${FILES} files for ${IDLE_SECONDS} s`,
        },
      ];
    } finally {
      idleNode.kill();
      await rig.close();
    }
  },
};
