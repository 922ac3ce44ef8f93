/** The real service on 127.0.0.1, an ephemeral port and a temp data folder, inside the test process. */
import fs from 'fs';
import { createLogger } from '../../src/log/logger';
import { RunningService, startService } from '../../src/service/server';
import { tempDir } from './server-process';

/** `db`: as --db takes it (a PostgreSQL database of the test's cluster, say); else SQLite in the data folder. */
export async function startTempService(token?: string, db?: string): Promise<RunningService & { dataDir: string; stopAndClean(): Promise<void> }> {
  const dataDir = tempDir('outpost-service-');
  const service = await startService({ host: '127.0.0.1', port: 0, dataDir, db, token, log: createLogger('service', 'error') });
  return {
    ...service,
    dataDir,
    async stopAndClean() {
      await service.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
