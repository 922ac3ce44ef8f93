/**
 * The guarantee: every complete line appended to the spool is stored exactly once, in order,
 * even when the agent is SIGKILLed at random moments while a writer appends.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { agentEnv, serverForFile, sleep, startAgentProcess, until } from './agent-process';

const LINES = 100_000;
const RATE = 6_000; // lines/s: the writer runs ~17 s, longer than the 22 agent lives
const KILLS = 22;

const shared = serverForFile('outpost-crash-');

function ackedLine(spool: string): number {
  try {
    return (JSON.parse(fs.readFileSync(`${spool}.ack`, 'utf8')) as { line: number }).line;
  } catch {
    return 0;
  }
}

async function fetchSeries(runId: string): Promise<number[]> {
  const values: number[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const res: { status: number; data: { points: { value: number; step: number }[]; nextOffset: number | null } } = await axios.get(
      `${shared.server.url}/api/v1/runs/${runId}/metrics/i`,
      { params: { offset, limit: 100_000 }, validateStatus: (s) => s === 200 || s === 404 },
    );
    if (res.status === 404) return values; // nothing stored yet
    for (const p of res.data.points) values.push(p.value);
    offset = res.data.nextOffset;
  }
  return values;
}

test('a writer appends 100,000 lines while the agent is SIGKILLed and restarted 22 times: each line is stored once, in order', async () => {
  const runId = 'crash-run';
  const spool = path.join(shared.dir, '.outpost', 'runs', runId, 'metrics.jsonl');
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  const writer = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'spool-writer.js'), spool, String(LINES), String(RATE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const writerDone = new Promise<void>((resolve) => writer.once('exit', () => resolve()));
  const args = ['--run', runId, '--dir', shared.dir, '--server', shared.server.url];

  let kills = 0;
  let finished = false;
  void writerDone.then(() => (finished = true));
  while (kills < KILLS) {
    const agent = startAgentProcess(args, agentEnv());
    // Every fifth agent first ships something, however slowly a loaded machine starts Node: the
    // later ones must resume from a checkpoint, not just from the start. On a slow machine the
    // writer may be done and every line acknowledged already: then there is nothing left to ship.
    const acked = ackedLine(spool);
    if (kills % 5 === 4) await until(() => ackedLine(spool) > acked || (finished && ackedLine(spool) >= LINES), 'this agent to ship something', 20_000);
    // Random moments: during start-up (Node alone takes ~0.5 s), mid-batch, between batches.
    await sleep(300 + Math.random() * 700);
    agent.child.kill('SIGKILL');
    await agent.exited;
    kills++;
  }
  await writerDone;
  expect(finished).toBe(true);
  // The killed agents did ship: the last one only finishes what they left.
  const shippedWhileKilling = (await fetchSeries(runId)).length;
  expect(shippedWhileKilling).toBeGreaterThan(0);

  // A last agent finishes the job and exits cleanly on SIGTERM.
  // Once it is up (agent.json written); a SIGTERM before Node has even loaded the CLI is a plain kill.
  const last = startAgentProcess(args, agentEnv());
  const presence = path.join(path.dirname(spool), 'agent.json'); // killed agents leave theirs behind
  await until(() => fs.existsSync(presence) && JSON.parse(fs.readFileSync(presence, 'utf8')).pid === last.child.pid, 'the last agent to start');
  last.child.kill('SIGTERM');
  const { code } = await last.exited;
  expect({ code, output: last.output() }).toEqual({ code: 0, output: expect.any(String) });

  const values = await fetchSeries(runId);
  expect(values.length).toBe(LINES);
  const wrong = values.findIndex((v, i) => v !== i);
  expect(wrong).toBe(-1);
  const info = (await axios.get(`${shared.server.url}/api/v1/runs/${runId}`)).data;
  expect(info.metrics.i).toMatchObject({ count: LINES, last: LINES - 1 });
  expect(info.rejectedLines).toBe(0);
  expect(kills).toBeGreaterThanOrEqual(20);
}, 120_000);
