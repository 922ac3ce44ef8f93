/** The Workbench logging example (docs/logging.md), in Python and in TypeScript, under the real `outpost run` (local mode). */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { repoRoot } from './client-helpers';

const outpost = path.join(repoRoot, 'bin/outpost.js');
const CONTENT = 'This should be the contents of artifact/path in the service';

function cli(args: string[], cwd: string, timeout = 60_000) {
  const env = { ...process.env };
  for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER', 'OUTPOST_CONFIG']) delete env[k];
  return spawnSync(process.execPath, [outpost, ...args], { cwd, env, encoding: 'utf8', timeout });
}

const pythonTrain = `
import json, os, urllib.parse, urllib.request
from outpost_logger import get_logger
logger = get_logger()

logger.log("simple integer value", 7)                          # scalar metrics
logger.log("simple float value", 3.141592)
logger.log("simple string value", "this is a string metric")
logger.log("chart data points", [1, 3, 5, 10, 6, 4])           # a list: drawn as a chart

logger.log("my metric 1", 1).wait()     # blocking
# Right after wait(): the service already has the line.
run_dir = os.path.dirname(os.environ["OUTPOST_METRICS_FILE"])
presence = json.load(open(os.path.join(run_dir, "agent.json")))  # the local service and its token
url = "%s/api/v1/runs/%s/metrics/%s" % (presence["server"], os.environ["OUTPOST_RUN_ID"], urllib.parse.quote("my metric 1"))
history = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + presence["token"]})))
print("after wait:", history["count"], json.dumps(history["points"][0]["value"]))
logger.log("my metric 2", 2).wait()

logger.upload("artifact/path", ${JSON.stringify(CONTENT)})
`;

const typescriptTrain = `
const http = require('http');
const path = require('path');
const fs = require('fs');
const { getLogger } = require(${JSON.stringify(repoRoot)});
const logger = getLogger();

logger.log('simple integer value', 7);
logger.log('simple float value', 3.141592);
logger.log('simple string value', 'this is a string metric');
logger.log('chart data points', [1, 3, 5, 10, 6, 4]);

const getJson = (url, token) => new Promise((resolve, reject) => http.get(url, { headers: { authorization: 'Bearer ' + token } }, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(JSON.parse(b))); }).on('error', reject));

(async () => {
  await logger.log('my metric 1', 1).wait();
  // The local service and its token.
  const { server, token } = JSON.parse(fs.readFileSync(path.join(path.dirname(process.env.OUTPOST_METRICS_FILE), 'agent.json'), 'utf8'));
  const history = await getJson(server + '/api/v1/runs/' + process.env.OUTPOST_RUN_ID + '/metrics/' + encodeURIComponent('my metric 1'), token);
  console.log('after wait:', history.count, JSON.stringify(history.points[0].value));
  await logger.log('my metric 2', 2).wait();
  logger.upload('artifact/path', ${JSON.stringify(CONTENT)});
})();
`;

describe.each([
  ['Python', 'train.py', pythonTrain, ['python3', 'train.py']],
  ['TypeScript (compiled JavaScript)', 'train.js', typescriptTrain, [process.execPath, 'train.js']],
])('the Workbench logging example in %s under outpost run', (_lang, file, code, command) => {
  test('every value arrives with its type, wait() returns only once the service has the line, and the upload arrives intact', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-logging-'));
    fs.writeFileSync(path.join(dir, file), code);
    const run = cli(['run', '--', ...command], dir);
    expect(run.stderr).not.toMatch(/Traceback|Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('after wait: 1 1\n');

    const runs = JSON.parse(cli(['history', 'list', '--json'], dir).stdout) as { id: string; status: string }[];
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('completed');
    const info = JSON.parse(cli(['history', 'info', '-r', runs[0].id, '--json'], dir).stdout);
    expect(info.metrics).toMatchObject({
      'simple integer value': { type: 'integer', count: 1, last: 7 },
      'simple float value': { type: 'float', count: 1, last: 3.141592 },
      'simple string value': { type: 'string', count: 1, last: 'this is a string metric' },
      'chart data points': { type: 'list', count: 1, last: [1, 3, 5, 10, 6, 4] },
      'my metric 1': { type: 'integer', count: 1, last: 1 },
      'my metric 2': { type: 'integer', count: 1, last: 2 },
    });
    expect(info.rejectedLines).toBe(0);
    // logs/run.log (the command's output) comes too.
    expect(info.artifacts).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'outputs/artifact/path', size: Buffer.byteLength(CONTENT) })]));

    const dest = path.join(dir, 'downloaded.txt');
    const got = cli(['history', 'info', '-r', runs[0].id, '-a', 'outputs/artifact/path', '-o', dest], dir);
    expect(got.status).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe(CONTENT);
  });
});

test('getLogger() outside outpost run tracks `node train.js` on its own: a run in the local store, completed at the end', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-standalone-'));
  fs.writeFileSync(path.join(dir, 'train.js'), typescriptTrain);
  const env = { ...process.env };
  for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER', 'OUTPOST_CONFIG']) delete env[k];
  const run = spawnSync(process.execPath, ['train.js'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(0);
  expect(run.stdout).toBe('after wait: 1 1\n');
  expect(run.stderr).toMatch(/tracking this program as run (\S+) \(local store/);
  const runs = JSON.parse(cli(['history', 'list', '--json'], dir).stdout) as { id: string; status: string }[];
  expect(runs).toEqual([expect.objectContaining({ status: 'completed', name: 'train.js' })]);
  const info = JSON.parse(cli(['history', 'info', '-r', runs[0].id, '--json'], dir).stdout);
  expect(Object.keys(info.metrics).sort()).toEqual(['chart data points', 'my metric 1', 'my metric 2', 'simple float value', 'simple integer value', 'simple string value']);
  expect(info.metrics['chart data points']).toMatchObject({ type: 'list', last: [1, 3, 5, 10, 6, 4] });
  expect(info.artifacts).toEqual([expect.objectContaining({ path: 'outputs/artifact/path', size: Buffer.byteLength(CONTENT) })]);
});
