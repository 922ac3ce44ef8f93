/** Params and tags from both loggers, under the real `outpost run` (local mode): what reaches the run, and the refusals. */
import fs from 'fs';
import path from 'path';
import type { RunInfo } from '../../src/protocol';
import { outpost } from '../agent/agent-process';
import { tempDir } from '../service/server-process';
import { repoRoot } from './client-helpers';

const python = `
from outpost_logger import get_logger
logger = get_logger()
logger.log_params({"lr": 0.01, "model": {"depth": 4, "act": "relu"}, "layers": [64, 32]})
logger.set_tags({"team": "vision", "stage": "dev", "seed": 7})
try:
    logger.log_params({"bad": None})
except ValueError as e:
    print("refused:", e)
logger.log("val_acc", 0.9)
logger.set_tags({"stage": None}).wait()
logger.log_params({"lr": 0.02})     # a param keeps its first value: a rejected line
`;

const typescript = `
const { getLogger } = require(${JSON.stringify(repoRoot)});
const logger = getLogger();
logger.logParams({ lr: 0.01, model: { depth: 4, act: 'relu' }, layers: [64, 32] });
logger.setTags({ team: 'vision', stage: 'dev', seed: 7 });
try {
  logger.logParams({ bad: null });
} catch (e) {
  console.log('refused:', e.message);
}
logger.log('val_acc', 0.9);
(async () => {
  await logger.setTags({ stage: null }).wait();
  logger.logParams({ lr: 0.02 });
})();
`;

describe.each([
  ['Python', 'train.py', python, ['python3', 'train.py']],
  ['TypeScript', 'train.js', typescript, [process.execPath, 'train.js']],
])('params and tags from the %s logger', (_lang, file, code, command) => {
  test('nested params arrive flattened with their types, tags as text, a removed tag is gone, a second value for a param is a rejected line', () => {
    const dir = tempDir('outpost-params-tags-');
    try {
      fs.writeFileSync(path.join(dir, file), code);
      const run = outpost(['run', '--', ...command], { cwd: dir });
      expect({ status: run.status, stderr: run.stderr }).toMatchObject({ status: 0 });
      expect(run.stdout).toMatch(/^refused: .*params\[("bad"|'bad')\] must be a number, string, boolean, list or (dict|object), got (None|null)\n$/);
      const id = (JSON.parse(outpost(['history', 'last', '--json'], { cwd: dir }).stdout) as RunInfo).id;
      const info = JSON.parse(outpost(['history', 'info', '-r', id, '--json'], { cwd: dir }).stdout) as RunInfo & { rejected: { line: number; reason: string }[] };
      expect(info.params).toEqual({ lr: 0.01, 'model.depth': 4, 'model.act': 'relu', layers: [64, 32] });
      expect(info.tags).toEqual({ team: 'vision', seed: '7' });
      expect(info.metrics.val_acc).toMatchObject({ count: 1, last: 0.9 });
      expect(info.rejected).toEqual([expect.objectContaining({ line: 5, reason: 'param "lr" is 0.01 already; this line says 0.02: a param keeps its first value' })]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
