/**
 * The compare view's params side by side (the rows that differ marked), the best value of each
 * metric, and parallel coordinates (one line per run; dragging along an axis keeps the lines that
 * cross it there), over ticked runs and over the runs a filter selects.
 */
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

let server: TestServer;
let browser: TestBrowser;

// lr differs, optimizer is the same, depth is missing from one run; loss is best low, accuracy high.
const RUNS = [
  { id: 'c1', lr: 0.1, depth: 2, loss: 0.42, accuracy: 0.81, epoch_time_ms: 120 },
  { id: 'c2', lr: 0.01, depth: 4, loss: 0.21, accuracy: 0.88, epoch_time_ms: 150 },
  { id: 'c3', lr: 0.001, depth: undefined, loss: 0.35, accuracy: 0.93, epoch_time_ms: 90 },
];
// A sweep for the parallel coordinates of a filter: 4 lrs x 2 optimizers x 3 seeds.
const SWEEP: { id: string; lr: number; optimizer: string; seed: number; acc: number }[] = [];

beforeAll(async () => {
  server = await startServer();
  const api = new Api(server.url);
  const t0 = Date.parse('2025-08-01T08:00:00Z');
  for (const [i, r] of RUNS.entries()) {
    await api.putRun(r.id, { experiment: 'cmp', name: `run-${r.id}`, status: 'completed', startTime: new Date(t0 + i * 60_000).toISOString(), endTime: new Date(t0 + i * 60_000 + 9_000).toISOString() });
    await api.meta(r.id, { params: { lr: r.lr, optimizer: 'adam', ...(r.depth === undefined ? {} : { depth: r.depth }) }, tags: { team: 'vision' } });
    await api.log(r.id, [
      { step: 1, metrics: { loss: r.loss + 0.5, accuracy: r.accuracy - 0.2, epoch_time_ms: r.epoch_time_ms } },
      { step: 2, metrics: { loss: r.loss, accuracy: r.accuracy, epoch_time_ms: r.epoch_time_ms } },
    ]);
  }
  let n = 0;
  for (const lr of [0.3, 0.1, 0.03, 0.01]) {
    for (const optimizer of ['adam', 'sgd']) {
      for (const seed of [1, 2, 3]) {
        const id = `w${String(n).padStart(2, '0')}`;
        const acc = Number((0.6 + (optimizer === 'adam' ? 0.1 : 0) + (lr < 0.05 ? 0.1 : 0) + seed / 100).toFixed(3));
        SWEEP.push({ id, lr, optimizer, seed, acc });
        await api.putRun(id, { experiment: 'wide', name: `w-${lr}-${optimizer}-${seed}`, status: 'completed', startTime: new Date(t0 + n * 60_000).toISOString(), endTime: new Date(t0 + n * 60_000 + 5_000).toISOString() });
        await api.meta(id, { params: { lr, optimizer, seed } });
        await api.log(id, [{ metrics: { val_acc: acc } }]);
        n++;
      }
    }
  }
  browser = await openBrowser({ width: 1280, height: 1400 });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openCompare(query: string): Promise<void> {
  await browser.page.goto('about:blank');
  await browser.page.goto(`${server.url}/#/compare?${query}`);
}

/** Drags along an axis of the parallel coordinates from one fraction of its height to another (0 = top; past an end is clamped to it). */
async function brush(axis: string, from: number, to: number): Promise<void> {
  const { page } = browser;
  const box = (await page.locator(`.pc-axis[data-axis="${axis}"] .pc-brush .overlay`).boundingBox())!;
  const x = box.x + box.width / 2;
  await page.mouse.move(x, box.y + box.height * from);
  await page.mouse.down();
  await page.mouse.move(x, box.y + box.height * ((from + to) / 2), { steps: 4 });
  await page.mouse.move(x, box.y + box.height * to, { steps: 4 });
  await page.mouse.up();
}

const kept = () => browser.page.locator('.pc-line:not(.dimmed)').evaluateAll((ps) => ps.map((p) => p.getAttribute('data-run')).sort());

test('params side by side: the rows whose values differ are marked, the same ones are not', async () => {
  const { page } = browser;
  await openCompare('runs=c1,c2,c3');
  const params = page.locator('.params-compare');
  await params.locator('tr[data-param="lr"]').waitFor();
  expect(await params.locator('thead th').evaluateAll((ths) => ths.map((th) => th.textContent))).toEqual(['Param', 'run-c1', 'run-c2', 'run-c3']);
  const row = (name: string) => params.locator(`tr[data-param="${name}"]`);
  expect(await row('lr').getAttribute('class')).toContain('differs');
  expect(await row('lr').innerText()).toMatch(/lr\s+0\.1\s+0\.01\s+0\.001/);
  // A run without the param differs from those with it.
  expect(await row('depth').getAttribute('class')).toContain('differs');
  expect(await row('depth').locator('td.missing').count()).toBe(1);
  expect(await row('optimizer').getAttribute('class')).not.toContain('differs');
  // Differing rows first.
  expect(await params.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-param')))).toEqual(['depth', 'lr', 'optimizer']);
});

test('the best value of each metric is marked: lowest for a loss or a time, highest otherwise, and it can be flipped', async () => {
  const { page } = browser;
  await openCompare('runs=c1,c2,c3');
  const table = page.locator('.last-values');
  await table.locator('tr[data-metric="loss"]').waitFor();
  const bestOf = (metric: string) =>
    table.locator(`tr[data-metric="${metric}"] td`).evaluateAll((tds) => tds.slice(1, -1).flatMap((td, i) => (td.classList.contains('best') ? [i] : [])));
  expect(await bestOf('loss')).toEqual([1]); // c2: 0.21
  expect(await bestOf('accuracy')).toEqual([2]); // c3: 0.93
  expect(await bestOf('epoch_time_ms')).toEqual([2]); // c3: 90
  expect(await table.locator('tr[data-metric="loss"]').getAttribute('data-best')).toBe('min');
  // Flipped, loss's best is the highest; kept across a reload.
  await table.locator('tr[data-metric="loss"] button[data-action="flip-best"]').click();
  expect(await bestOf('loss')).toEqual([0]); // c1: 0.42
  await page.reload();
  await table.locator('tr[data-metric="loss"]').waitFor();
  expect(await bestOf('loss')).toEqual([0]);
  await table.locator('tr[data-metric="loss"] button[data-action="flip-best"]').click();
  expect(await bestOf('loss')).toEqual([1]);
});

test('parallel coordinates: one line per ticked run, an axis per varying param and the metric; a brush keeps the lines through it', async () => {
  const { page } = browser;
  await openCompare('runs=c1,c2,c3');
  const plot = page.locator('.pc-plot[data-lines="3"]');
  await plot.locator('svg').waitFor();
  expect(await page.locator('path.pc-line').count()).toBe(3);
  const axes = await page.locator('.pc-axis').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-axis')));
  expect(axes).toEqual(['p:depth', 'p:lr', 'm:accuracy']);
  // Coloured by the metric: three runs, three colours.
  expect(new Set(await page.locator('path.pc-line').evaluateAll((ps) => ps.map((p) => p.getAttribute('stroke')))).size).toBe(3);
  // lr spans 0.001..0.1, two decades: linear, so 0.1 is at the top and the others near the bottom.
  await brush('p:lr', 0.3, -0.1);
  expect(await kept()).toEqual(['c1']);
  expect(await plot.getAttribute('data-kept')).toBe('1');
  // A click outside the brushed range clears it: every line again.
  await page.mouse.click((await page.locator('.pc-axis[data-axis="p:lr"] .pc-brush .overlay').boundingBox())!.x + 10, (await page.locator('.pc-axis[data-axis="p:lr"] .pc-brush .overlay').boundingBox())!.y + 200);
  await page.locator('.pc-plot[data-kept="3"]').waitFor();
});

test('parallel coordinates over the runs a filter selects; brushed runs can be opened side by side', async () => {
  const { page } = browser;
  await page.goto('about:blank');
  await page.goto(`${server.url}/#/?experiment=wide`);
  await page.locator('.runs-scroll:not([data-loading]) tbody[data-shown]').waitFor();
  // Nothing ticked: Compare takes every run the list shows.
  const compare = page.locator('a.compare-button', { hasText: 'Compare all' });
  expect(await compare.getAttribute('aria-disabled')).toBe('false');
  await compare.click();
  const plot = page.locator(`.pc-plot[data-lines="${SWEEP.length}"]`);
  await plot.locator('svg').waitFor();
  expect(await page.locator('path.pc-line').count()).toBe(SWEEP.length);
  expect(await page.locator('h1').innerText()).toBe(`Compare ${SWEEP.length} runs`);
  // optimizer is categorical: adam, sgd from the bottom up; the upper half keeps the sgd runs.
  await brush('p:optimizer', 0.02, 0.45);
  const sgd = SWEEP.filter((r) => r.optimizer === 'sgd').map((r) => r.id).sort();
  expect(await kept()).toEqual(sgd);
  // Two brushes must both hold: the sgd runs with the highest val_acc.
  await brush('m:val_acc', 0.5, -0.1);
  const keptNow = await kept();
  expect(keptNow.length).toBeGreaterThan(0);
  expect(keptNow.length).toBeLessThan(sgd.length);
  for (const id of keptNow) expect(sgd).toContain(id);
  const link = page.locator('a[data-action="compare-brushed"]');
  expect(await link.innerText()).toBe(`Compare these ${keptNow.length}`);
  await link.click();
  await page.locator('.params-compare').waitFor();
  expect(await page.locator('h1').innerText()).toBe(`Compare ${keptNow.length} runs`);
});

test('Compare all follows the filter of the list', async () => {
  const { page } = browser;
  await page.goto('about:blank');
  await page.goto(`${server.url}/#/?experiment=wide&filter=${encodeURIComponent('params.lr < 0.05')}`);
  await page.locator('.count', { hasText: /^12 runs$/ }).waitFor();
  await page.locator('a.compare-button', { hasText: 'Compare all' }).click();
  await page.locator('.pc-plot[data-lines="12"] svg').waitFor();
  expect(await page.locator('path.pc-line').count()).toBe(12);
});
