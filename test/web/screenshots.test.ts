/**
 * Screenshots of the runs page and a run page over demo data. They land in a temp folder, or in
 * docs/ with UPDATE_SCREENSHOTS=1:  npm run build && UPDATE_SCREENSHOTS=1 npx jest test/web/screenshots
 * (SCREENSHOT_DIR=D writes them to D instead; SCREENSHOT_VARIANTS=1 adds phone, dark and compare.)
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Api } from './helpers/api';
import { openBrowser } from './helpers/browser';
import { populateDemo } from './helpers/demo-data';
import { startServer, TestServer } from './helpers/server';

const keep = process.env.SCREENSHOT_DIR ?? (process.env.UPDATE_SCREENSHOTS ? path.join(__dirname, '..', '..', 'docs') : undefined);
const outDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-shots-'));
let server: TestServer;
let demo: { featured: string; running: string };

beforeAll(async () => {
  server = await startServer();
  demo = await populateDemo(new Api(server.url));
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
    await page.goto(`${server.url}/#/?experiment=cifar10-resnet18`);
    await page.locator(`tr[data-run="${demo.featured}"]`).waitFor();
    await page.locator('details.picker summary').click();
    await page.locator('details.picker input[value="test accuracy"]').check();
    await page.locator('details.picker input[value="lr"]').uncheck();
    await page.locator('h1').click(); // closes the picker
    await page.locator('button.sort[data-sort="m:test accuracy"]').click();
    await page.locator('button.sort[data-sort="m:test accuracy"]').click();
    await page.locator(`tr[data-run="${demo.featured}"] input[type=checkbox]`).check();
    await page.locator(`tr[data-run="cifar-003"] input[type=checkbox]`).check();
    const runsFile = path.join(outDir, `runs-page${name}.png`);
    await page.screenshot({ path: runsFile });
    expect(fs.statSync(runsFile).size).toBeGreaterThan(10_000);

    await page.goto(`${server.url}/#/runs/${demo.featured}`);
    await page.locator('figure.chart[data-metric="val/accuracy"] canvas').waitFor();
    await page.locator('.log-text', { hasText: 'done.' }).waitFor();
    const runFile = path.join(outDir, `run-page${name}.png`);
    await page.screenshot({ path: runFile, fullPage: true });
    expect(fs.statSync(runFile).size).toBeGreaterThan(10_000);

    if (process.env.SCREENSHOT_VARIANTS) {
      await page.goto(`${server.url}/#/compare?runs=cifar-002,cifar-005,cifar-007,cifar-009`);
      await page.locator('figure.chart[data-metric="train/loss"][data-series="4"] canvas').waitFor();
      await page.screenshot({ path: path.join(outDir, `compare-page${name}.png`), fullPage: true });
    }
  } finally {
    await browser.close();
  }
});
