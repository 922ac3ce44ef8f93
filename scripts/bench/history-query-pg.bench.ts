/** history-query-pg: the history-query benchmark over PostgreSQL (a throwaway cluster on loopback). */
import { startPgCluster } from '../pg/cluster';
import type { Benchmark } from './harness';
import { historyQuery } from './history-query.bench';

export const benchmark: Benchmark = {
  name: 'history-query-pg',
  description: 'p50 ms to fetch a 1,000,000-point metric downsampled to 2,000 points over HTTP, stored in PostgreSQL',
  async run() {
    const pg = await startPgCluster();
    try {
      return await historyQuery('history-query-pg', await pg.createDatabase('bench'), 'PostgreSQL 15 (a cluster of its own, fsync off)');
    } finally {
      pg.stop();
    }
  },
};
