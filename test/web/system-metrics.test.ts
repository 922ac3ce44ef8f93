/** The run page's System section: the agent's samples of the machine's and the job's load, apart from the run's own charts. */
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

function samples(n: number): string[] {
  const t0 = 1_700_000_000;
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      metrics: {
        'system/cpu_percent': 10 + i,
        'system/memory_used_bytes': 2e9 + i * 1e6,
        'system/process/rss_bytes': 5e8 + i,
        'system/process/cpu_percent': 95 + i,
        'system/gpu/0/utilization_percent': 50 + i,
        'system/gpu/1/utilization_percent': 5,
      },
      time: t0 + i * 10,
    }),
  );
}

test("system metrics have a section of their own, the machine, the job's processes and each GPU apart, against seconds; the run's charts leave them out", async () => {
  const api = new Api(server.url);
  await api.putRun('sys-1', { experiment: 'sys', name: 'sampled', status: 'completed', startTime: new Date().toISOString() });
  await api.log('sys-1', [0, 1, 2].map((step) => ({ step, metrics: { loss: 1 / (1 + step) } })));
  await api.ndjson('sys-1', samples(5), 'system-stream', 'system');
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/sys-1`);
  const system = page.locator('section.card', { has: page.locator('h2', { hasText: /^System$/ }) });
  await system.locator('figure.chart[data-metric="system/cpu_percent"][data-points="5"] canvas').waitFor();
  expect(await system.locator('.system-group').evaluateAll((els) => els.map((e) => [e.getAttribute('data-group'), e.querySelector('h3')?.textContent]))).toEqual([
    ['0-machine', 'The machine'],
    ['1-process', "The job's processes"],
    ['2-gpu-0000', 'GPU 0'],
    ['2-gpu-0001', 'GPU 1'],
  ]);
  expect(await system.locator('.system-group[data-group="1-process"] figure.chart').evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')))).toEqual([
    'system/process/cpu_percent',
    'system/process/rss_bytes',
  ]);
  // Time on x: the legend names it.
  expect(await system.locator('figure.chart[data-metric="system/cpu_percent"] .u-legend').textContent()).toContain('seconds');
  const charts = page.locator('section.card', { has: page.locator('h2', { hasText: /^Charts$/ }) });
  await charts.locator('figure.chart[data-metric="loss"] canvas').waitFor();
  expect(await charts.locator('figure.chart').evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')))).toEqual(['loss']);
});

test('a running run: new samples and a GPU that appears later are drawn as they come; a run without samples has no System section', async () => {
  const api = new Api(server.url);
  await api.putRun('sys-2', { experiment: 'sys', name: 'live', status: 'running', startTime: new Date().toISOString() });
  const lines = samples(8);
  await api.ndjson('sys-2', lines.slice(0, 3).map((l) => l.replace(/,"system\/gpu[^,}]*/g, '')), 'system-stream', 'system');
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/sys-2`);
  const system = page.locator('section.card', { has: page.locator('h2', { hasText: /^System$/ }) });
  await system.locator('figure.chart[data-metric="system/cpu_percent"][data-points="3"]').waitFor();
  expect(await system.locator('.system-group[data-group^="2-gpu"]').count()).toBe(0);
  await api.ndjson('sys-2', lines.slice(3), 'system-stream', 'system');
  await system.locator('figure.chart[data-metric="system/cpu_percent"][data-points="8"]').waitFor();
  await system.locator('figure.chart[data-metric="system/gpu/0/utilization_percent"][data-points="5"]').waitFor();
  await api.putRun('sys-2', { status: 'completed', endTime: new Date().toISOString() });

  await api.putRun('sys-3', { experiment: 'sys', name: 'none', status: 'completed', startTime: new Date().toISOString() });
  await api.log('sys-3', [0, 1].map((step) => ({ step, metrics: { loss: step } })));
  await page.goto(`${server.url}/#/runs/sys-3`);
  await page.locator('figure.chart[data-metric="loss"] canvas').waitFor();
  expect(await page.locator('section.card', { has: page.locator('h2', { hasText: /^System$/ }) }).isVisible()).toBe(false);
});
