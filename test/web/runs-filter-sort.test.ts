/** The runs page's filter box, param and tag columns, and sorting by any column, done by a real service. */
import type { RunSummary } from '../../src/protocol/api-types';
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

let server: TestServer;
let browser: TestBrowser;
let api: Api;
let runs: (RunSummary & { metrics: Record<string, number> })[]; // as the service lists them, newest first
const dialogs: string[] = [];

const LRS = [0.1, 0.01, 0.001];
const OPTIMIZERS = ['adam', 'sgd'];

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.url);
  const t0 = Date.parse('2025-07-01T08:00:00Z');
  let i = 0;
  for (const lr of LRS) {
    for (const optimizer of OPTIMIZERS) {
      for (const depth of [2, 4]) {
        const id = `g${String(i).padStart(2, '0')}`;
        await api.putRun(id, { experiment: 'grid', name: `grid-lr${lr}-${optimizer}-d${depth}`, status: 'completed', startTime: new Date(t0 + i * 60_000).toISOString(), endTime: new Date(t0 + i * 60_000 + 30_000).toISOString() });
        await api.meta(id, { params: { lr, optimizer, model: { depth } }, tags: { team: i % 3 === 0 ? 'vision' : 'audio' } });
        // Not in the order of any param: the sorts below must come from the values.
        const acc = Number((0.5 + ((i * 37) % 12) / 30).toFixed(3));
        await api.log(id, [
          { step: 1, metrics: { val_acc: acc - 0.2, loss: 2 - acc } },
          { step: 2, metrics: { val_acc: acc, loss: 1 - acc } },
        ]);
        i++;
      }
    }
  }
  // One run without params or val_acc: it goes last whichever way either sorts.
  await api.putRun('g99', { experiment: 'grid', name: 'grid-bare', status: 'failed', startTime: new Date(t0 - 60_000).toISOString(), endTime: new Date(t0).toISOString() });
  await api.log('g99', [{ metrics: { loss: 3 } }]);
  runs = (await api.call('GET', '/runs?experiment=grid&include=metrics&limit=100')) as typeof runs;
  browser = await openBrowser();
  browser.page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const rowIds = () => browser.page.locator('tbody tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
const settled = () => browser.page.locator('.runs-scroll:not([data-loading]) tbody[data-shown]').waitFor();

async function open(query: string): Promise<void> {
  await browser.page.goto('about:blank');
  await browser.page.goto(`${server.url}/#/?${query}`);
  await settled();
}

async function filter(text: string): Promise<void> {
  await browser.page.locator('input[name="filter"]').fill(text);
  await browser.page.locator('input[name="filter"]').press('Enter');
}

async function sortBy(key: string, dir: 'ascending' | 'descending'): Promise<void> {
  await browser.page.locator(`button.sort[data-sort="${key}"]`).click();
  await browser.page.locator(`th[aria-sort="${dir}"] button.sort[data-sort="${key}"]`).waitFor();
  await settled();
}

/** The runs ordered by `value`, ties newest first (the service's order), runs without one last. */
function ordered(value: (r: (typeof runs)[number]) => number | undefined, desc: boolean): string[] {
  const keyed = runs.map((r, i) => ({ id: r.id, i, v: value(r) }));
  keyed.sort((a, b) => {
    if (a.v === undefined || b.v === undefined) return a.v === b.v ? a.i - b.i : a.v === undefined ? 1 : -1;
    return (desc ? b.v - a.v : a.v - b.v) || a.i - b.i;
  });
  return keyed.map((k) => k.id);
}

test('the params that vary show as columns; params and tags can be chosen like metrics', async () => {
  const { page } = browser;
  await open('experiment=grid');
  const columns = await page.locator('thead button.sort').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-sort')));
  expect(columns).toEqual(expect.arrayContaining(['p:lr', 'p:model.depth', 'p:optimizer']));
  expect(columns).not.toContain('t:team');
  expect(await page.locator('tr[data-run="g05"]').innerText()).toContain('0.01');
  await page.locator('details.picker summary').click();
  await page.locator('details.picker input[data-kind="tag"][value="team"]').check();
  await page.locator('details.picker input[data-kind="param"][value="model.depth"]').uncheck();
  await page.locator('button.sort[data-sort="t:team"]').waitFor();
  expect(await page.locator('button.sort[data-sort="p:model.depth"]').count()).toBe(0);
  expect(await page.locator('tr[data-run="g03"]').innerText()).toContain('vision');
  // Remembered for the experiment.
  await open('experiment=grid');
  expect(await page.locator('thead button.sort').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-sort')))).toEqual(expect.arrayContaining(['p:lr', 'p:optimizer', 't:team']));
  expect(await page.locator('button.sort[data-sort="p:model.depth"]').count()).toBe(0);
});

test('sorting by a param is done by the service: numbers in order, the run without it last', async () => {
  await open('experiment=grid');
  await sortBy('p:lr', 'ascending');
  const lr = (r: (typeof runs)[number]) => r.params.lr as number | undefined;
  expect(await rowIds()).toEqual(ordered(lr, false));
  await sortBy('p:lr', 'descending');
  expect(await rowIds()).toEqual(ordered(lr, true));
  expect((await rowIds()).at(-1)).toBe('g99');
  // In the address: a reload, or the link sent to someone, sorts the same.
  expect(browser.page.url()).toContain('sort=p%3Alr');
  await browser.page.reload();
  await settled();
  expect(await rowIds()).toEqual(ordered(lr, true));
});

test('sorting by a metric orders by its last value, checked against the service’s data', async () => {
  await open('experiment=grid');
  await sortBy('m:val_acc', 'ascending');
  const acc = (r: (typeof runs)[number]) => r.metrics.val_acc;
  expect(await rowIds()).toEqual(ordered(acc, false));
  await sortBy('m:val_acc', 'descending');
  const ids = await rowIds();
  expect(ids).toEqual(ordered(acc, true));
  // The values shown run downwards.
  const shown = await browser.page.locator('tbody tr[data-run]').evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
  expect(shown[0]).toContain(String(Math.max(...runs.flatMap((r) => (r.metrics.val_acc === undefined ? [] : [r.metrics.val_acc])))));
});

test('a filter expression selects the runs the service selects, and stays in the address', async () => {
  const { page } = browser;
  await open('experiment=grid');
  const expr = "params.optimizer = 'adam' and metrics.val_acc > 0.7";
  await filter(expr);
  const expected = runs.filter((r) => r.params.optimizer === 'adam' && r.metrics.val_acc > 0.7).map((r) => r.id);
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.length).toBeLessThan(6);
  await page.locator('.count', { hasText: new RegExp(`^${expected.length} runs?$`) }).waitFor();
  await settled();
  expect(await rowIds()).toEqual(expected);
  expect(decodeURIComponent(page.url().replace(/\+/g, ' '))).toContain(`filter=${expr}`);
  await page.reload();
  await settled();
  expect(await page.locator('input[name="filter"]').inputValue()).toBe(expr);
  expect(await rowIds()).toEqual(expected);
  // Tags and or, with parentheses.
  await filter("tags.team = 'vision' and (params.lr = 0.1 or params.lr = 0.001)");
  await page.locator('.count', { hasText: /^\d+ runs?$/ }).waitFor();
  await settled();
  const vision = runs.filter((r) => r.tags.team === 'vision' && (r.params.lr === 0.1 || r.params.lr === 0.001)).map((r) => r.id);
  expect(await rowIds()).toEqual(vision);
});

test('plain words look for the run’s name or id', async () => {
  const { page } = browser;
  await open('experiment=grid');
  await filter('sgd d4');
  const expected = runs.filter((r) => r.name.includes('sgd') && r.name.includes('d4')).map((r) => r.id);
  await page.locator('.count', { hasText: new RegExp(`^${expected.length} runs?$`) }).waitFor();
  await settled();
  expect(await rowIds()).toEqual(expected);
  await filter('G99');
  await page.locator('.count', { hasText: /^1 run$/ }).waitFor();
  expect(await rowIds()).toEqual(['g99']);
});

test('a filter the service cannot read shows its reason under the box, and the rows shown stay', async () => {
  const { page } = browser;
  await open('experiment=grid');
  const before = await rowIds();
  await filter('params.lr >');
  const error = page.locator('.filter-error');
  await error.waitFor();
  const text = await error.innerText();
  expect(text).toContain('at character 12');
  expect(text).toContain('expected a value');
  expect(text).toContain('found the end');
  await settled();
  expect(await rowIds()).toEqual(before);
  expect(await page.locator('.count').innerText()).toBe(`${runs.length} runs`);
  expect(dialogs).toEqual([]);
  // Corrected, the error goes and the filter applies.
  await filter('params.lr > 0.05');
  await page.locator('.count', { hasText: /^4 runs$/ }).waitFor();
  expect(await error.isHidden()).toBe(true);
  // A link carrying such a filter opens with the reason, and the rest of the page works.
  await page.goto('about:blank');
  await page.goto(`${server.url}/#/?filter=${encodeURIComponent('params.lr >')}`);
  await error.waitFor();
  expect(await error.innerText()).toContain('at character 12');
  expect(await page.locator('.count').innerText()).toBe('Filter not applied');
  await page.locator('select[name="experiment"] option[value="grid"]').waitFor({ state: 'attached' });
  await filter('');
  await page.locator('.count', { hasText: `${runs.length} runs` }).waitFor();
});
