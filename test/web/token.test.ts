/** Against a service with a token: the page asks for it (or takes it from #token=), sends it, and downloads with it. */
import crypto from 'crypto';
import fs from 'fs';
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

const TOKEN = 'web-test-token-123';
let server: TestServer;
let browser: TestBrowser;
const bytes = crypto.randomBytes(50_000);

beforeAll(async () => {
  server = await startServer({ OUTPOST_TOKEN: TOKEN });
  const api = new Api(server.url, TOKEN);
  await api.putRun('t1', { experiment: 'secure', name: 'guarded', status: 'completed', startTime: new Date().toISOString() });
  await api.putArtifact('t1', 'outputs/data.bin', bytes);
  await api.putArtifact('t1', 'outputs/odd #1?/50%25 ü.bin', bytes.subarray(0, 999));
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

test('without a token the page asks for one, then shows the runs', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/`);
  await page.locator('#banner input[name="token"]').fill(TOKEN);
  await page.locator('#banner button[type="submit"]').click();
  await page.locator('tr[data-run="t1"]').waitFor();
});

test('a #token= link stores the token and leaves the address bar', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/`);
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${server.url}/#/runs/t1?token=${TOKEN}`);
  await page.locator('h1', { hasText: 'guarded' }).waitFor();
  expect(page.url()).not.toContain('token');
  expect(await page.evaluate(() => localStorage.getItem('outpost.token'))).toBe(TOKEN);
});

test('an artifact downloads with the token and has the stored bytes', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/runs/t1`);
  const link = page.locator('a[data-download="outputs/data.bin"]');
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('data.bin');
  expect(fs.readFileSync((await download.path())!).equals(bytes)).toBe(true);
  // Fetched with the token from the link's address: each segment of an odd name encoded once.
  const odd = page.locator('a[data-download="outputs/odd #1?/50%25 ü.bin"]');
  const [second] = await Promise.all([page.waitForEvent('download'), odd.click()]);
  expect(second.suggestedFilename()).toBe('50%25 ü.bin');
  expect(fs.readFileSync((await second.path())!).equals(bytes.subarray(0, 999))).toBe(true);
});
