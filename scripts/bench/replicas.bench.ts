/**
 * replicas: metric ingest through nginx into one PostgreSQL, with one `outpost server` replica
 * behind it and with three. Six runs send at once (each one ordered stream, one batch in flight,
 * as six agents do), so a second and third replica have work to take.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { settings } from '../../config';
import { createApiClient } from '../../src/http/api-client';
import { BATCH_HEADERS, NDJSON_TYPE } from '../../src/protocol';
import { freePort, startPgCluster } from '../pg/cluster';
import { startNginx } from '../team/nginx';
import { Benchmark, ratio } from './harness';
import { cpuSeconds, startOutpost, stop, type Child, sleep } from './processes';

const SENDERS = 6;
const LINES_PER_SENDER = 100_000;
const BATCH = settings.agent.batchMaxLines;

function ndjson(first: number, count: number): Buffer {
  let text = '';
  for (let seq = first; seq < first + count; seq++) text += `{"name":"loss","value":${1 / seq},"step":${seq}}\n`;
  return Buffer.from(text);
}

async function startReplica(port: number, db: string, dataDir: string): Promise<Child> {
  const proc = startOutpost(['server', '--port', String(port), '--data', dataDir, '--db', db], { OUTPOST_LOG_LEVEL: 'info' });
  const deadline = Date.now() + 20_000;
  while (!/listening on/.test(proc.output())) {
    if (Date.now() > deadline) throw new Error(`replica did not start:\n${proc.output()}`);
    await sleep(20);
  }
  return proc;
}

/** Lines/s through nginx with `n` replicas, and the CPU seconds the replicas spent. */
async function throughput(n: number, db: string, root: string): Promise<{ linesPerSec: number; replicaCpuS: number; wallS: number }> {
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const replicas: Child[] = [];
  for (const [i, p] of ports.entries()) replicas.push(await startReplica(p, db, path.join(root, `r${n}-${i}`)));
  const nginx = await startNginx(path.join(root, `nginx-${n}`), await freePort(), ports);
  const api = createApiClient({ baseUrl: nginx.url });
  try {
    for (let s = 0; s < SENDERS; s++) await api.put(`/runs/bench-${n}-${s}`, {});
    const cpu0 = replicas.reduce((t, r) => t + cpuSeconds(r.child.pid!), 0);
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, s) => {
        let body = ndjson(1, BATCH);
        for (let first = 1; first <= LINES_PER_SENDER; first += BATCH) {
          const pending = api.post(`/runs/bench-${n}-${s}/metrics`, body, {
            headers: { 'content-type': NDJSON_TYPE, [BATCH_HEADERS.stream]: 'spool', [BATCH_HEADERS.firstSeq]: String(first) },
          });
          if (first + BATCH <= LINES_PER_SENDER) body = ndjson(first + BATCH, BATCH);
          await pending;
        }
      }),
    );
    const wallS = Number(process.hrtime.bigint() - start) / 1e9;
    const replicaCpuS = replicas.reduce((t, r) => t + cpuSeconds(r.child.pid!), 0) - cpu0;
    return { linesPerSec: (SENDERS * LINES_PER_SENDER) / wallS, replicaCpuS, wallS };
  } finally {
    (api.defaults.httpAgent as { destroy(): void }).destroy();
    await nginx.stop();
    for (const r of replicas) await stop(r);
  }
}

export const benchmark: Benchmark = {
  name: 'replicas',
  description: `${SENDERS} runs sending ${LINES_PER_SENDER.toLocaleString('en-US')} lines each at once through nginx into PostgreSQL: three replicas vs one`,
  async run() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-replicas-'));
    const cluster = await startPgCluster();
    try {
      const one = await throughput(1, await cluster.createDatabase('one'), root);
      const three = await throughput(3, await cluster.createDatabase('three'), root);
      return [
        {
          name: 'replicas',
          unit: 'lines/s',
          value: Math.round(three.linesPerSec),
          baseline: Math.round(one.linesPerSec),
          ratio: ratio(three.linesPerSec, one.linesPerSec),
          aim: '(report: on 2 cores it may not scale)',
          baselineLabel: 'the same through nginx with one replica',
          notes:
            `${os.cpus().length} cores; replicas' CPU: ${one.replicaCpuS.toFixed(1)} s of ${one.wallS.toFixed(1)} s with one, ` +
            `${three.replicaCpuS.toFixed(1)} s of ${three.wallS.toFixed(1)} s with three (the rest: PostgreSQL, nginx and this sender on the same cores)`,
        },
      ];
    } finally {
      cluster.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
};
