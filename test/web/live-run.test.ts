/** A running run's page follows the data: the chart grows while metric batches arrive, and stops when the run ends. */
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  server = await startServer();
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

test('the chart of a running run grows as batches arrive, and the page stops following when it ends', async () => {
  const api = new Api(server.url);
  await api.putRun('live-1', { experiment: 'live', name: 'growing', status: 'running', startTime: new Date().toISOString() });
  const batch = (from: number) => Array.from({ length: 10 }, (_, i) => ({ step: from + i, metrics: { loss: 1 / (1 + from + i) } }));
  await api.log('live-1', batch(0));

  const { page } = browser;
  await page.goto(`${server.url}/#/runs/live-1`);
  const chart = page.locator('figure.chart[data-metric="loss"]');
  await page.locator('figure.chart[data-metric="loss"][data-points="10"] canvas').waitFor();
  await page.locator('.live', { hasText: 'live' }).waitFor();

  for (const points of [20, 30, 40]) {
    await api.log('live-1', batch(points - 10));
    await page.locator(`figure.chart[data-metric="loss"][data-points="${points}"]`).waitFor();
  }
  // A metric that appears mid-run gets its own chart, and the log follows too.
  await api.log('live-1', [{ step: 40, metrics: { accuracy: 0.5 } }, { step: 41, metrics: { accuracy: 0.6 } }]);
  await page.locator('figure.chart[data-metric="accuracy"][data-points="2"] canvas').waitFor();
  await api.putArtifact('live-1', 'logs/run.log', Buffer.from('step 41\n'));
  await page.locator('.log-text', { hasText: 'step 41' }).waitFor();

  await api.putRun('live-1', { status: 'completed', exitCode: 0, endTime: new Date().toISOString() });
  await page.locator('h1 .status-completed').waitFor();
  await page.locator('.live').waitFor({ state: 'hidden' });
  // Once finished, nothing more is fetched: a late batch does not show up.
  await api.log('live-1', batch(40));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.waitForTimeout(2500);
  expect(requests).toEqual([]);
  expect(await chart.getAttribute('data-points')).toBe('40');
});

test("a live chart counts the points its table row counts, though the series grew between the two requests", async () => {
  const api = new Api(server.url);
  await api.putRun('live-2', { experiment: 'live', name: 'racing', status: 'running', startTime: new Date().toISOString() });
  const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ step: from + i, metrics: { loss: 1 / (1 + from + i) } }));
  await api.log('live-2', batch(0, 10));
  const { page } = browser;
  // The next fetch of the series happens after one more line is stored: the run's summary (and
  // so the table) was read a moment before, with one line fewer. Real requests, real server.
  let armed = false;
  await page.route('**/api/v1/runs/live-2/metrics/loss?*', async (route) => {
    if (!armed) return route.continue();
    armed = false;
    await api.log('live-2', batch(20, 1));
    await route.continue();
  });
  await page.goto(`${server.url}/#/runs/live-2`);
  await page.locator('figure.chart[data-metric="loss"][data-points="10"] canvas').waitFor();
  armed = true;
  await api.log('live-2', batch(10, 10));
  // The first drawing after the table said 20: both must say the same.
  const seen = await page.waitForFunction(() => {
    const chart = document.querySelector<HTMLElement>('figure.chart[data-metric="loss"]')!;
    if (chart.dataset.points === '10') return null;
    const count = document.querySelector('tr[data-metric="loss"] td:last-child')!.textContent;
    return { points: chart.dataset.points, note: chart.querySelector('.chart-note')!.textContent, count };
  });
  expect(await seen.jsonValue()).toEqual({ points: '20', note: '20 points', count: '20' });
  // The next poll sees the 21st line everywhere.
  await page.locator('figure.chart[data-metric="loss"][data-points="21"]').waitFor();
  expect(await page.locator('tr[data-metric="loss"] td:last-child').innerText()).toBe('21');
  expect(await page.locator('figure.chart[data-metric="loss"] .chart-note').innerText()).toBe('21 points');
  await page.unroute('**/api/v1/runs/live-2/metrics/loss?*');
  await api.putRun('live-2', { status: 'completed', exitCode: 0, endTime: new Date().toISOString() });
});
