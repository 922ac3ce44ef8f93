/**
 * system-metrics: an idle agent's CPU over 60 s with the machine's load sampled at the default
 * agent.systemMetricsIntervalMs, beside the same agent with sampling off, in the same run; the
 * difference is what sampling costs. A third agent samples every second, to give the cost of one
 * sample (what the default interval was chosen from). Each agent watches a job's process tree
 * (a process with a child) with --pid. No GPU here: nvidia-smi's own CPU is not the agent's.
 */
import { spawn } from 'child_process';
import { defaults } from '../../config';
import { ratio, type Benchmark, type BenchResult } from './harness';
import { cpuSecondsFine, sleep, startAgentRig } from './processes';

const SECONDS = 60;
const WARM_UP_MS = 5_000;

export const benchmark: Benchmark = {
  name: 'system-metrics',
  description: `an idle agent's CPU over ${SECONDS} s with system metrics sampled (every ${defaults.agent.systemMetricsIntervalMs / 1000} s, and every 1 s) and off`,
  async run(): Promise<BenchResult[]> {
    // The job: a process with a child, as a training script with a data loader.
    const job = spawn(process.execPath, ['-e', "require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000)"], { stdio: 'ignore', detached: true });
    const pid = ['--pid', String(job.pid)];
    const interval = (ms: number) => ({ OUTPOST_CONFIG: JSON.stringify({ agent: { systemMetricsIntervalMs: ms } }) });
    const rigs = await Promise.all([
      startAgentRig('sys-off', ['--no-system-metrics', ...pid]),
      startAgentRig('sys-default', pid),
      startAgentRig('sys-1s', pid, interval(1000)),
    ]);
    try {
      await sleep(WARM_UP_MS);
      const before = rigs.map((r) => cpuSecondsFine(r.agent.child.pid!));
      await sleep(SECONDS * 1000);
      const [off, on, everySecond] = rigs.map((r, i) => ((cpuSecondsFine(r.agent.child.pid!) - before[i]) / SECONDS) * 100);
      const extra = on - off;
      const perSampleMs = ((everySecond - off) / 100) * 1000; // one sample a second: CPU ms per second = per sample
      const needed = perSampleMs / 0.2 * 100; // the interval at which sampling costs 0.2 % of a core
      return [
        {
          name: 'system-metrics',
          unit: '% of a core',
          value: extra,
          baseline: off,
          baselineLabel: 'the same idle agent, sampling off',
          ratio: ratio(on, off),
          aim: 'value < 0.2',
          notes: `sampling on: ${on.toFixed(3)} %, off: ${off.toFixed(3)} %; every 1 s: ${everySecond.toFixed(3)} %, so ${perSampleMs.toFixed(2)} ms of CPU a sample: 0.2 % of a core at one sample every ${(needed / 1000).toFixed(1)} s`,
        },
      ];
    } finally {
      await Promise.all(rigs.map((r) => r.close()));
      process.kill(-job.pid!, 'SIGKILL'); // its group: the child too
    }
  },
};
