/** The run page in a real browser: facts, charts with the right points, logs, artifact download, promote. */
import crypto from 'crypto';
import fs from 'fs';
import { formatBytes as cliFormatBytes } from '../../src/cli/format-human';
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

let server: TestServer;
let browser: TestBrowser;
let api: Api;
const weights = crypto.randomBytes(300_000);
// Names a URL must encode: kept literally by the service, so each must come back as it is.
const oddNames = ['outputs/a b#c?.txt', 'outputs/100%.txt', 'outputs/50%25off.txt', 'outputs/%41.txt', 'outputs/q?x=1&y=2.txt', 'outputs/naïve café/日本語 😀.txt'];
const oddBytes = oddNames.map((name, i) => Buffer.from(`${name}\n`.repeat(40 + i * 30)));

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.url);
  await api.putRun('run-a', {
    experiment: 'mnist',
    name: 'baseline',
    status: 'completed',
    exitCode: 0,
    startTime: '2025-11-20T10:00:00.000Z',
    endTime: '2025-11-20T10:42:13.000Z',
    command: 'python train.py --lr 0.01',
    cwd: '/home/ada/mnist',
    host: 'gpu-box-3',
    gitCommit: '3f9c2a1b7d4e5f60718293a4b5c6d7e8f9a0b1c2',
    gitDirty: true,
  });
  // 500 losses with steps, one float logged once, a string, and a list.
  await api.log('run-a', Array.from({ length: 500 }, (_, i) => ({ step: i * 10, metrics: { loss: 2 / (1 + i / 20) } })));
  await api.log('run-a', [{ metrics: { 'test accuracy': 0.9731, optimizer: 'adam', 'chart data points': [1, 3, 5, 10, 6, 4] } }]);
  // 5,000 points without steps: the page asks for ~2,000 and the server downsamples.
  await api.log('run-a', Array.from({ length: 5000 }, (_, i) => ({ metrics: { 'grad norm': Math.abs(Math.sin(i / 50)) + 0.01 } })), 'grad.jsonl');
  await api.reject('run-a', '"step" must be an integer >= 0, got -1');
  // As stores made before the reason was kept alone hold it: "<file> line <n>: <reason>".
  await api.reject('run-a', 'metrics.jsonl line 1: "step" must be an integer >= 0, got 1.5', 'spool-2', 'metrics.jsonl');
  // A few steps only: the x axis must not tick between them.
  await api.log('run-a', [1, 2, 3].map((step) => ({ step, metrics: { momentum: 0.9 + step / 100 } })));
  await api.log('run-a', [{ metrics: { 'class weights': [0.2, 0.5, 0.3] } }]);
  await api.putArtifact('run-a', 'outputs/model/weights.bin', weights);
  await api.putArtifact('run-a', 'outputs/model/config.json', Buffer.from('{"layers": 3}\n'));
  await api.putArtifact('run-a', 'outputs/samples.txt', Buffer.from('hello\n'));
  await api.putArtifact('run-a', 'outputs/tables/small.csv', Buffer.alloc(12_600, 0x61));
  await api.putArtifact('run-a', 'outputs/tables/big.csv', Buffer.alloc(1_600_000, 0x62));
  for (const [i, name] of oddNames.entries()) await api.putArtifact('run-a', name, oddBytes[i]);
  await api.putArtifact('run-a', 'logs/run.log', Buffer.from('epoch 1 loss 0.91\nepoch 2 loss 0.55\ntraining done\n'));
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

test('the run page shows the facts, the metrics table, the log and the rejected line', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  await page.locator('h1', { hasText: 'baseline' }).waitFor();
  const facts = page.locator('dl.facts');
  await expectText(facts, 'python train.py --lr 0.01');
  await expectText(facts, 'gpu-box-3');
  await expectText(facts, '3f9c2a1b7d4e');
  await expectText(facts, 'uncommitted changes');
  await expectText(facts, '42m 13s');
  expect(await page.locator('tr[data-metric="optimizer"]').innerText()).toContain('adam');
  expect(await page.locator('tr[data-metric="test accuracy"]').innerText()).toContain('0.9731');
  await page.locator('.log-text', { hasText: 'training done' }).waitFor();
  expect(await page.locator('.rejected-table').innerText()).toContain('"step" must be an integer');
});

test('each metric with a series gets a chart with the points given to it', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  const loss = page.locator('figure.chart[data-metric="loss"]');
  await loss.locator('canvas').waitFor();
  expect(await loss.getAttribute('data-points')).toBe('500');
  const list = page.locator('figure.chart[data-metric="chart data points"]');
  await list.locator('canvas').waitFor();
  expect(await list.getAttribute('data-points')).toBe('6');
  const grad = page.locator('figure.chart[data-metric="grad norm"]');
  await grad.locator('canvas').waitFor();
  const drawn = Number(await grad.getAttribute('data-points'));
  expect(drawn).toBeGreaterThan(100);
  expect(drawn).toBeLessThanOrEqual(2000);
  expect(await grad.locator('.chart-note').innerText()).toContain('of 5,000 points');
  // A metric logged once is a table row, not a chart.
  expect(await page.locator('figure.chart[data-metric="test accuracy"]').count()).toBe(0);
  // The log toggle redraws the same points on a log axis.
  await loss.locator('button.toggle').click();
  expect(await loss.locator('button.toggle').getAttribute('aria-pressed')).toBe('true');
  await loss.locator('canvas').waitFor();
});

test('an artifact downloaded through the page has the stored bytes', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  const link = page.locator('a[data-download="outputs/model/weights.bin"]');
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('weights.bin');
  const got = fs.readFileSync((await download.path())!);
  expect(got.equals(weights)).toBe(true);
});

test('promoting a folder creates an asset version, shown on the page and on the assets page', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  await page.locator('summary[data-folder="outputs/model/"] button', { hasText: 'promote' }).click();
  expect(await page.locator('form.promote input[name="prefix"]').inputValue()).toBe('outputs/model/');
  await page.locator('form.promote input[name="name"]').fill('mnist-model');
  await page.locator('form.promote button[type="submit"]').click();
  await page.locator('.promote-result[data-version="1"]').waitFor();
  expect(await page.locator('.promote-result').innerText()).toContain('mnist-model version 1 · 2 files');
  await page.locator('form.promote button[type="submit"]').click();
  await page.locator('.promote-result[data-version="2"]').waitFor();

  await page.locator('.promote-result a.asset-name').click();
  await page.locator('[data-version="2"]').waitFor();
  const block = await page.locator('.asset-version-block[data-version="1"]').innerText();
  expect(block).toContain('outputs/model/weights.bin');
  expect(block).toContain('run-a');
});

test('a rejected line reads its reason once: the File and Line columns say where', async () => {
  const { page } = browser;
  const info = (await api.call('GET', '/runs/run-a')) as { rejected: { stream: string; line: number; reason: string }[] };
  const stored = info.rejected.find((r) => r.stream === 'spool-2')!;
  const prefix = 'metrics.jsonl line 1: ';
  expect(stored.reason.startsWith(prefix)).toBe(true);
  await page.goto(`${server.url}/#/runs/run-a`);
  await page.locator('.rejected-table tbody tr').nth(1).waitFor();
  const rows = await page.locator('.rejected-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  expect(rows).toContainEqual(['metrics.jsonl', '1', stored.reason.slice(prefix.length)]);
  // A reason stored without the prefix is shown whole.
  expect(rows.map((r) => r[2])).toContain('"step" must be an integer >= 0, got -1');
});

test('sizes read in KiB and MiB, as the CLI prints them', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  const weightsMeta = page.locator('li.tree-file', { has: page.locator('a[data-download="outputs/model/weights.bin"]') }).locator('.tree-meta');
  await weightsMeta.waitFor();
  expect(await weightsMeta.innerText()).toBe(cliFormatBytes(300_000));
  const small = page.locator('li.tree-file', { has: page.locator('a[data-download="outputs/tables/small.csv"]') }).locator('.tree-meta');
  expect(await small.innerText()).toBe(cliFormatBytes(12_600));
  const big = page.locator('li.tree-file', { has: page.locator('a[data-download="outputs/tables/big.csv"]') }).locator('.tree-meta');
  expect(await big.innerText()).toBe(cliFormatBytes(1_600_000));
  expect(cliFormatBytes(1_600_000)).toBe('1.5 MiB');
  const model = await page.locator('summary[data-folder="outputs/model/"] .tree-meta').innerText();
  expect(model).toBe(`2 · ${cliFormatBytes(300_000 + '{"layers": 3}\n'.length)}`);
  await page.locator('.log-info').waitFor();
  const text = await page.locator('main').innerText();
  expect(text).not.toMatch(/\d (KB|MB|GB)\b/);
  expect(text).toMatch(/\d KiB\b/);
});

test('the x axis ticks only at whole steps and list positions', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  for (const name of ['class weights', 'chart data points', 'momentum']) {
    const chart = page.locator(`figure.chart[data-metric="${name}"]`);
    await chart.locator('canvas').waitFor();
    await page.waitForFunction((n) => document.querySelector(`figure.chart[data-metric="${n}"]`)?.getAttribute('data-x-ticks'), name, { timeout: 10_000 });
    const ticks = (await chart.getAttribute('data-x-ticks'))!.split(',').map(Number);
    expect(ticks.length).toBeGreaterThan(1);
    expect(ticks.filter((t) => !Number.isInteger(t))).toEqual([]);
  }
});

test('artifacts whose names hold %, #, ?, spaces and non-ASCII download with their own bytes', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/run-a`);
  for (const [i, name] of oddNames.entries()) {
    const link = page.locator(`a[data-download="${name}"]`);
    await link.waitFor();
    expect(await link.innerText()).toBe(name.slice(name.lastIndexOf('/') + 1));
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(fs.readFileSync((await download.path())!).equals(oddBytes[i])).toBe(true);
  }
});

async function expectText(locator: import('playwright-core').Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).waitFor();
}
