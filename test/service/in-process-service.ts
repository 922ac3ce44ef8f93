/** The real service on 127.0.0.1, an ephemeral port and a temp data folder, inside the test process. */
import fs from 'fs';
import { createLogger } from '../../src/log/logger';
import { RunningService, startService } from '../../src/service/server';
import { tempDir } from './server-process';

export async function startTempService(token?: string): Promise<RunningService & { dataDir: string; stopAndClean(): Promise<void> }> {
  const dataDir = tempDir('outpost-service-');
  const service = await startService({ host: '127.0.0.1', port: 0, dataDir, token, log: createLogger('service', 'error') });
  return {
    ...service,
    dataDir,
    async stopAndClean() {
      await service.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
