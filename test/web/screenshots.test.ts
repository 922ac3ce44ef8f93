/**
 * Screenshots of the runs page and a run page over demo data, each taken once the page shows what
 * it must: the runs table with every run of the experiment, sorted and ticked as set up; the run's
 * facts, metrics, charts, log and artifacts. They land in a temp folder, or in docs/ with
 * UPDATE_SCREENSHOTS=1:  npm run build && UPDATE_SCREENSHOTS=1 npx jest test/web/screenshots
 * (SCREENSHOT_DIR=D writes them to D instead; SCREENSHOT_VARIANTS=1 adds phone, dark and compare.)
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { Page } from 'playwright-core';
import type { MetricSummary, RunInfo, RunSummary } from '../../src/protocol/api-types';
import { Api } from './helpers/api';
import { openBrowser } from './helpers/browser';
import { populateDemo } from './helpers/demo-data';
import { startServer, TestServer } from './helpers/server';

const EXPERIMENT = 'cifar10-resnet18';
const keep = process.env.SCREENSHOT_DIR ?? (process.env.UPDATE_SCREENSHOTS ? path.join(__dirname, '..', '..', 'docs') : undefined);
const outDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-shots-'));
let server: TestServer;
let api: Api;
let demo: { featured: string; running: string };
let runs: RunInfo[]; // the experiment's runs as the service has them, newest first

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.url);
  demo = await populateDemo(api);
  const list = (await api.call('GET', `/runs?experiment=${EXPERIMENT}&limit=1000`)) as RunSummary[];
  runs = await Promise.all(list.map(async (r) => (await api.call('GET', `/runs/${r.id}`)) as RunInfo));
});

afterAll(async () => {
  await server?.stop();
  if (!keep) fs.rmSync(outDir, { recursive: true, force: true });
});

const shots: { name: string; width: number; height: number; scheme: 'light' | 'dark' }[] = [
  { name: '', width: 1280, height: 800, scheme: 'light' },
  ...(process.env.SCREENSHOT_VARIANTS ? [{ name: '-phone', width: 390, height: 844, scheme: 'light' as const }, { name: '-dark', width: 1280, height: 800, scheme: 'dark' as const }] : []),
];

test.each(shots)('screenshots of the runs page and a run page$name', async ({ name, width, height, scheme }) => {
  const browser = await openBrowser({ width, height }, scheme);
  try {
    const { page } = browser;
    await page.goto(`${server.url}/#/?experiment=${EXPERIMENT}`);
    await page.locator(`tr[data-run="${demo.featured}"]`).waitFor();
    await page.locator('details.picker summary').click();
    await page.locator('details.picker input[data-kind="metric"][value="test accuracy"]').check();
    await page.locator('details.picker input[data-kind="metric"][value="lr"]').uncheck();
    await page.locator('h1').click(); // closes the picker
    await page.locator('button.sort[data-sort="m:test accuracy"]').click();
    await page.locator('button.sort[data-sort="m:test accuracy"]').click();
    await page.locator(`tr[data-run="${demo.featured}"] input[type=checkbox]`).check();
    await page.locator(`tr[data-run="cifar-003"] input[type=checkbox]`).check();
    await expectRunsPage(page, [demo.featured, 'cifar-003']);
    const runsFile = path.join(outDir, `runs-page${name}.png`);
    await page.screenshot({ path: runsFile });
    expect(pngSize(runsFile)).toEqual({ width, height });

    await page.goto(`${server.url}/#/runs/${demo.featured}`);
    await page.locator('figure.chart[data-metric="val/accuracy"] canvas').waitFor();
    await page.locator('.log-text', { hasText: 'done.' }).waitFor();
    await expectRunPage(page, runs.find((r) => r.id === demo.featured)!);
    const runFile = path.join(outDir, `run-page${name}.png`);
    await page.screenshot({ path: runFile, fullPage: true });
    const full = pngSize(runFile);
    expect(full.width).toBe(width);
    expect(full.height).toBeGreaterThan(height); // the whole page: charts, log and artifacts below the fold

    if (process.env.SCREENSHOT_VARIANTS) {
      const compared = ['cifar-002', 'cifar-005', 'cifar-007', 'cifar-009'];
      await page.goto(`${server.url}/#/compare?runs=${compared.join(',')}`);
      await page.locator(`figure.chart[data-metric="train/loss"][data-series="${compared.length}"] canvas`).waitFor();
      const legend = await page.locator('.compare-legend').innerText();
      for (const id of compared) expect(legend).toContain(runs.find((r) => r.id === id)!.name);
      await page.screenshot({ path: path.join(outDir, `compare-page${name}.png`), fullPage: true });
    }
  } finally {
    await browser.close();
  }
});

/** Every run of the experiment, best test accuracy first (the running run, without one, last), the chosen columns, the ticked runs. */
async function expectRunsPage(page: Page, ticked: string[]): Promise<void> {
  const accuracy = (r: RunInfo) => r.metrics['test accuracy']?.last as number | undefined;
  // Ties keep the list's order, newest first.
  const expected = [...runs].sort((a, b) => (accuracy(b) ?? -Infinity) - (accuracy(a) ?? -Infinity)).map((r) => r.id);
  expect(expected).toHaveLength(12);
  expect(expected[expected.length - 1]).toBe(demo.running);
  expect(await page.locator('.count').innerText()).toContain(`${runs.length} runs`);
  expect(await page.locator('tbody tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual(expected);

  const columns = await page.locator('thead button.sort').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-sort')));
  expect(columns).toContain('m:test accuracy');
  expect(columns).not.toContain('m:lr');
  expect(await page.locator('button.sort[data-sort="m:test accuracy"] .arrow').innerText()).toBe('▼');

  for (const run of runs) {
    const row = await page.locator(`tr[data-run="${run.id}"]`).innerText();
    expect(row).toContain(run.name);
    expect(row).toContain(run.status);
    const value = accuracy(run);
    if (value !== undefined) expect(row).toContain(String(value));
  }
  const checked = await page.locator('tbody tr[data-run]:has(input[type=checkbox]:checked)').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
  expect(checked.sort()).toEqual([...ticked].sort());
  const compare = page.locator('a.compare-button');
  expect(await compare.innerText()).toBe(`Compare ${ticked.length}`);
  expect(await compare.getAttribute('aria-disabled')).toBe('false');
}

/** The run's name and status, its facts, a table row per metric, a chart per series, the log's end, every artifact. */
async function expectRunPage(page: Page, run: RunInfo): Promise<void> {
  const title = await page.locator('h1').innerText();
  expect(title).toContain(run.name);
  expect(title).toContain(run.status);
  const facts = await page.locator('dl.facts').innerText();
  expect(facts).toContain(run.command!);
  expect(facts).toContain(run.host!);
  expect(facts).toContain(run.gitCommit!.slice(0, 12));

  const metrics = Object.entries(run.metrics) as [string, MetricSummary][];
  expect(await page.locator('tr[data-metric]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-metric')).sort())).toEqual(metrics.map(([n]) => n).sort());
  expect(await page.locator('tr[data-metric="optimizer"]').innerText()).toContain('sgd+nesterov');
  // A chart for each metric logged more than once, or a list, with every point given to it.
  const series = metrics.filter(([, m]) => m.count > 1 || m.type === 'list');
  expect(series.map(([n]) => n).sort()).toEqual(['lr', 'per-class accuracy', 'train/loss', 'val/accuracy', 'val/loss']);
  for (const [metric, m] of series) {
    const chart = page.locator(`figure.chart[data-metric="${metric}"]`);
    await chart.locator('canvas').waitFor();
    expect(await chart.getAttribute('data-points')).toBe(String(m.type === 'list' ? (m.last as number[]).length : m.count));
  }
  expect(await page.locator('figure.chart').count()).toBe(series.length);

  const log = await page.locator('.log-text').innerText();
  expect(log).toContain('epoch 20');
  expect(log).toContain('done.');
  const files = await page.locator('.tree a[data-download]').evaluateAll((as) => as.map((a) => a.getAttribute('data-download')).sort());
  expect(files).toEqual(run.artifacts.map((a) => a.path).sort());
  expect(files).toHaveLength(5);
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const png = fs.readFileSync(file);
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
