/** The runs page in a real browser: lists, filters, sorts, picks metric columns, pages through thousands, compares. */
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

let server: TestServer;
let browser: TestBrowser;
const SWEEP = 1200;
const MOONS = [
  { id: 'moons_1795567819597_21ed', name: 'mlp-lr0.1', status: 'completed', lr: 0.1 },
  { id: 'moons_1795567819612_9a3c', name: 'mlp-lr0.1', status: 'completed', lr: 0.1 },
  { id: 'moons_1795567820001_07bb', name: 'mlp-lr0.01', status: 'failed', lr: 0.01 },
];

beforeAll(async () => {
  server = await startServer();
  const api = new Api(server.url);
  const t0 = Date.parse('2025-06-01T08:00:00Z');
  const runs = [
    { id: 'a1', experiment: 'mnist', name: 'small', status: 'completed', acc: 0.91, minutes: 5 },
    { id: 'a2', experiment: 'mnist', name: 'wide', status: 'failed', acc: 0.95, minutes: 50 },
    { id: 'a3', experiment: 'mnist', name: 'deep', status: 'running', acc: 0.93, minutes: 20 },
    { id: 'b1', experiment: 'cifar', name: 'resnet', status: 'completed', acc: 0.88, minutes: 90 },
  ];
  for (const [i, r] of runs.entries()) {
    const start = t0 + i * 3600_000;
    await api.putRun(r.id, { experiment: r.experiment, name: r.name, status: r.status, startTime: new Date(start).toISOString(), endTime: r.status === 'running' ? null : new Date(start + r.minutes * 60_000).toISOString() });
    await api.log(r.id, [
      { step: 1, metrics: { loss: 1 - r.acc + 0.5, accuracy: r.acc - 0.1 } },
      { step: 2, metrics: { loss: 1 - r.acc, accuracy: r.acc } },
    ]);
  }
  // Two runs of one name (ids differ only at the end, as generated ids do), and metrics logged
  // 30, 10, 5 times beside three logged once whose names sort first.
  for (const [i, r] of MOONS.entries()) {
    await api.putRun(r.id, { experiment: 'moons', name: r.name, status: r.status, startTime: new Date(t0 + i * 60_000).toISOString(), endTime: new Date(t0 + i * 60_000 + 30_000).toISOString() });
    await api.log(r.id, [{ metrics: { epoch_time_ms: 12 + i, hidden: 16, lr: r.lr } }]);
    await api.log(
      r.id,
      Array.from({ length: 30 }, (_, step) => {
        const metrics: Record<string, number> = { loss: 1 / (step + 1 + i) };
        if (step % 3 === 0) metrics.accuracy = 0.5 + step / 100;
        if (step % 6 === 0 && r.status !== 'failed') metrics.val_accuracy = 0.4 + step / 100;
        return { step, metrics };
      }),
    );
  }
  // A sweep big enough that the table must page its loading and virtualise its rows.
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      for (let i = worker; i < SWEEP; i += 8) {
        const id = `s${String(i).padStart(4, '0')}`;
        await api.putRun(id, { experiment: 'sweep', name: `trial ${i}`, status: 'completed', startTime: new Date(t0 - (i + 1) * 60_000).toISOString(), endTime: new Date(t0 - i * 60_000).toISOString() });
        await api.log(id, [{ metrics: { score: (i * 7919) % 1000 } }]);
      }
    }),
  );
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const rowIds = async () => browser.page.locator('tbody tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));

/** Clicks a column's header and waits for the service's answer in that order to be drawn. */
async function sortBy(key: string, dir: 'ascending' | 'descending'): Promise<void> {
  await browser.page.locator(`button.sort[data-sort="${key}"]`).click();
  await browser.page.locator(`th[aria-sort="${dir}"] button.sort[data-sort="${key}"]`).waitFor();
  await browser.page.locator('.runs-scroll:not([data-loading])').waitFor();
}

test('the runs of an experiment are listed newest first with status, start, duration and metric columns', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a1"]').waitFor();
  expect(await rowIds()).toEqual(['a3', 'a2', 'a1']);
  const row = await page.locator('tr[data-run="a2"]').innerText();
  expect(row).toContain('failed');
  expect(row).toContain('50m 00s');
  expect(row).toContain('0.95');
  expect(await page.locator('.count').innerText()).toContain('3 runs');
});

test('sorting by a metric column orders the runs by its last value, and again reverses it', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a1"]').waitFor();
  await sortBy('m:accuracy', 'ascending');
  expect(await rowIds()).toEqual(['a1', 'a3', 'a2']);
  await sortBy('m:accuracy', 'descending');
  expect(await rowIds()).toEqual(['a2', 'a3', 'a1']);
  // Longest first; a run still running has lasted until now.
  await sortBy('duration', 'descending');
  expect(await rowIds()).toEqual(['a3', 'a2', 'a1']);
  // The sort is in the address, so a reload keeps it.
  await page.reload();
  await page.locator('tr[data-run="a1"]').waitFor();
  expect(await rowIds()).toEqual(['a3', 'a2', 'a1']);
});

test('the status and experiment filters narrow the list', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a1"]').waitFor();
  await page.locator('select[name="status"]').selectOption('completed');
  await page.locator('.count', { hasText: '1 run' }).waitFor();
  expect(await rowIds()).toEqual(['a1']);
  await page.locator('select[name="experiment"] option[value="cifar"]').waitFor({ state: 'attached' });
  await page.locator('select[name="experiment"]').selectOption('cifar');
  await page.locator('tr[data-run="b1"]').waitFor();
  expect(await rowIds()).toEqual(['b1']);
});

test('metric columns can be chosen', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a1"]').waitFor();
  await page.locator('details.picker summary').click();
  await page.locator('details.picker input[value="loss"]').uncheck();
  expect(await page.locator('button.sort[data-sort="m:loss"]').count()).toBe(0);
  await page.locator('details.picker input[value="loss"]').check();
  await page.locator('button.sort[data-sort="m:loss"]').waitFor();
});

test('thousands of runs are read a page at a time as the table scrolls, and only the rows in view are in the page', async () => {
  const { page } = browser;
  const asked: URL[] = [];
  const onRequest = (r: { url(): string }) => {
    const url = new URL(r.url());
    if (url.pathname === '/api/v1/runs') asked.push(url);
  };
  page.on('request', onRequest);
  try {
    await page.goto(`${server.url}/#/?experiment=sweep`);
    await page.locator(`tbody[data-rows="${SWEEP}"] tr[data-run]`).first().waitFor();
    expect(await page.locator('.count').innerText()).toContain(`${SWEEP.toLocaleString('en-US')} runs`);
    expect(await page.locator('tbody tr[data-run]').count()).toBeLessThan(100);
    // Sorted by the service over all of them, not only the rows read.
    await sortBy('m:score', 'ascending');
    await sortBy('m:score', 'descending');
    const top = await page.locator('tbody tr[data-run]').first().innerText();
    expect(top).toContain('999');
    // Scrolling to the end reads and draws the last rows: score 0 (trials 0 and 1000; ties keep newest first).
    expect(await page.locator('tr[data-run="s1000"]').count()).toBe(0);
    await page.locator('.runs-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.locator('tr[data-run="s1000"]').waitFor();
    expect((await rowIds()).slice(-2)).toEqual(['s0000', 's1000']);
    // Never every run at once: pages of 100, each asked for with the service's sort.
    expect(asked.length).toBeGreaterThan(0);
    for (const url of asked) expect(Number(url.searchParams.get('limit'))).toBeLessThanOrEqual(100);
    const sorted = asked.filter((u) => u.searchParams.get('sort') === 'metrics.score desc').map((u) => Number(u.searchParams.get('offset')));
    expect(sorted).toContain(0);
    expect(Math.max(...sorted)).toBe(1100);
    expect(sorted.length).toBeLessThan(SWEEP / 100);
  } finally {
    page.off('request', onRequest);
  }
});

test('ticking runs and pressing Compare overlays each metric, one line per run', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a1"]').waitFor();
  await page.locator('tr[data-run="a1"] input[type="checkbox"]').check();
  await page.locator('tr[data-run="a2"] input[type="checkbox"]').check();
  await page.locator('a.compare-button', { hasText: 'Compare 2' }).click();
  const loss = page.locator('figure.chart[data-metric="loss"]');
  await loss.locator('canvas').waitFor();
  expect(await loss.getAttribute('data-series')).toBe('2');
  expect(await loss.getAttribute('data-points')).toBe('2');
  const legend = await loss.locator('.u-legend').innerText();
  expect(legend).toContain('small');
  expect(legend).toContain('wide');
});

test('while a run is running the list refreshes itself and shows it finish', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a3"] .status-running').waitFor();
  await new Api(server.url).putRun('a3', { status: 'completed', exitCode: 0, endTime: '2025-06-01T10:20:00.000Z' });
  await page.locator('tr[data-run="a3"] .status-completed').waitFor();
  expect(await page.locator('tr[data-run="a3"]').innerText()).toContain('20m 00s');
});

/** A fresh document (not a hash change, which would leave the last view up for a moment), once its runs show. */
async function open(query: string, runs: number): Promise<void> {
  await browser.page.goto('about:blank');
  await browser.page.goto(`${server.url}/#/?${query}`);
  await browser.page.locator('.count', { hasText: new RegExp(`^${runs} runs?\\b`) }).waitFor();
}

async function forgetColumns(experiment: string): Promise<void> {
  if (!browser.page.url().startsWith(server.url)) await browser.page.goto(`${server.url}/#/assets`);
  await browser.page.evaluate((e) => localStorage.removeItem(`outpost.columns.${e}`), experiment);
}

const metricColumns = () => browser.page.locator('button.sort[data-sort^="m:"]').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-sort')!.slice(2)));

test('without a choice, the metric columns are the metrics logged most', async () => {
  const { page } = browser;
  await forgetColumns('moons');
  await open('experiment=moons', 3);
  expect(await metricColumns()).toEqual(['loss', 'accuracy', 'val_accuracy']);
  // The picker lists them in the same order, the ones logged once after.
  await page.locator('details.picker summary').click();
  expect(await page.locator('details.picker input').evaluateAll((is) => is.map((i) => (i as HTMLInputElement).value))).toEqual(['loss', 'accuracy', 'val_accuracy', 'epoch_time_ms', 'hidden', 'lr']);
});

test('the columns chosen are remembered for each experiment, also those hidden by a filter', async () => {
  const { page } = browser;
  await forgetColumns('moons');
  await open('experiment=moons', 3);
  await page.locator('details.picker summary').click();
  await page.locator('details.picker input[value="lr"]').check();
  await page.locator('details.picker input[value="accuracy"]').uncheck();
  expect(await metricColumns()).toEqual(['loss', 'val_accuracy', 'lr']);
  await open('experiment=moons', 3);
  expect(await metricColumns()).toEqual(['loss', 'val_accuracy', 'lr']);
  // Another experiment keeps its own columns.
  await open('experiment=mnist', 3);
  expect(await metricColumns()).toEqual(['accuracy', 'loss']);
  // The failed run has no val_accuracy: a change made while only it shows keeps that choice.
  await open('experiment=moons&status=failed', 1);
  expect(await metricColumns()).toEqual(['loss', 'lr']);
  await page.locator('details.picker summary').click();
  await page.locator('details.picker input[value="hidden"]').check();
  expect(await metricColumns()).toEqual(['loss', 'hidden', 'lr']);
  await open('experiment=moons', 3);
  expect(await metricColumns()).toEqual(['loss', 'val_accuracy', 'hidden', 'lr']);
});

test('a choice of no metric columns stays so, though a filter hides other chosen names', async () => {
  const { page } = browser;
  await forgetColumns('moons');
  await page.evaluate(() => localStorage.setItem('outpost.columns.moons', JSON.stringify(['loss', 'val_accuracy'])));
  await open('experiment=moons&status=failed', 1);
  expect(await metricColumns()).toEqual(['loss']);
  await page.locator('details.picker summary').click();
  await page.locator('details.picker input[value="loss"]').uncheck();
  await open('experiment=moons&status=failed', 1);
  expect(await metricColumns()).toEqual([]);
  expect(await page.locator('.picker-group[data-kind="metric"] .picker-head').textContent()).toBe('Metrics (0)');
  await open('experiment=moons', 3);
  expect(await metricColumns()).toEqual(['val_accuracy']);
});

test('numeric headers line up with their right-aligned values, sorted or not', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/?experiment=mnist`);
  await page.locator('tr[data-run="a1"]').waitFor();
  // Right edge of the header's label, and of the text in the same column of the first row.
  const edges = (key: string) =>
    page.evaluate((k) => {
      const button = document.querySelector(`button.sort[data-sort="${k}"]`)!;
      const th = button.closest('th')!;
      const cell = document.querySelector('tbody tr[data-run]')!.children[[...th.parentElement!.children].indexOf(th)];
      const range = document.createRange();
      range.selectNodeContents(cell);
      return { header: button.querySelector('.label')!.getBoundingClientRect().right, value: range.getBoundingClientRect().right };
    }, key);
  for (const key of ['duration', 'm:loss', 'm:accuracy']) {
    const e = await edges(key);
    expect(Math.abs(e.header - e.value)).toBeLessThanOrEqual(1);
  }
  await page.locator('button.sort[data-sort="m:accuracy"]').click();
  await page.locator('th[aria-sort="descending"] button[data-sort="m:accuracy"], th[aria-sort="ascending"] button[data-sort="m:accuracy"]').waitFor();
  const sorted = await edges('m:accuracy');
  expect(Math.abs(sorted.header - sorted.value)).toBeLessThanOrEqual(1);
});

test('compare labels two runs of one name apart, in the legend, the charts and the table', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/compare?runs=${MOONS[0].id},${MOONS[1].id},${MOONS[2].id}`);
  const loss = page.locator('figure.chart[data-metric="loss"][data-series="3"]');
  await loss.locator('canvas').waitFor();
  const legend = await page.locator('.compare-legend .legend-item').evaluateAll((as) => as.map((a) => a.firstChild?.nextSibling?.textContent ?? ''));
  const heads = await page.locator('.last-values thead th').evaluateAll((ths) => ths.slice(1, -1).map((th) => th.textContent ?? ''));
  const series = await loss.locator('.u-legend .u-series .u-label').evaluateAll((ls) => ls.slice(1).map((l) => l.textContent ?? ''));
  for (const labels of [legend, heads, series]) {
    expect(labels).toHaveLength(3);
    expect(new Set(labels).size).toBe(3);
    expect(labels[0]).toContain('mlp-lr0.1');
    expect(labels[1]).toContain('mlp-lr0.1');
    // A name no other run has is shown alone.
    expect(labels[2]).toBe('mlp-lr0.01');
  }
  // The shortest end of the ids that tells them apart.
  expect(heads).toEqual(['mlp-lr0.1 (…21ed)', 'mlp-lr0.1 (…9a3c)', 'mlp-lr0.01']);
  expect(legend).toEqual(heads);
  expect(series).toEqual(heads);
});
