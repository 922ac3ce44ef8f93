/**
 * A run's page describes and changes the run: its params, tags (add, change, remove), note (as
 * text-safe HTML), name, deleted or not. Runs made by the real `outpost run` against a real
 * server; every change is checked where it lands, in the service.
 */
import fs from 'fs';
import type { RunInfo, RunSummary } from '../../src/protocol/api-types';
import { outpost } from '../agent/agent-process';
import { tempDir } from '../service/server-process';
import { Api } from './helpers/api';
import { openBrowser, TestBrowser } from './helpers/browser';
import { startServer, TestServer } from './helpers/server';

let server: TestServer;
let browser: TestBrowser;
let api: Api;
let dir: string;
const ids: Record<string, string> = {};
const dialogs: string[] = [];

const HOSTILE_NOTE = [
  '# Findings',
  '',
  'lr **0.01** was _best_; see [the paper](https://arxiv.org/abs/1706.03762).',
  '',
  '<script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'img\'">',
  '[click me](javascript:window.__pwned=%22link%22)',
  '',
  '```',
  'python train.py --lr 0.01',
  '```',
].join('\n');

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.url);
  dir = tempDir('outpost-web-edit-');
  const job = 'import json, os\nwith open(os.environ["OUTPOST_METRICS_FILE"], "a") as f:\n    f.write(json.dumps({"params": {"model": {"depth": 4}}}) + "\\n")\n    f.write(json.dumps({"name": "val_acc", "value": 0.9}) + "\\n")';
  for (const name of ['tagged', 'noted', 'renamed', 'doomed']) {
    const r = outpost(['run', '--server', server.url, '--experiment', 'edits', '--name', name, '--param', 'lr=0.01', '--param', 'optimizer=adam', '--tag', 'stage=dev', '--', 'python3', '-c', job], { cwd: dir });
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  }
  for (const r of (await api.call('GET', '/runs?experiment=edits')) as RunSummary[]) ids[r.name] = r.id;
  await api.call('PATCH', `/runs/${ids.noted}`, { note: HOSTILE_NOTE });
  browser = await openBrowser();
  browser.page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const info = async (id: string) => (await api.call('GET', `/runs/${id}`)) as RunInfo;

async function openRun(id: string, title: string): Promise<void> {
  await browser.page.goto('about:blank');
  await browser.page.goto(`${server.url}/#/runs/${id}`);
  await browser.page.locator('h1', { hasText: title }).waitFor();
}

test('the params show as a table, as the run logged them', async () => {
  const { page } = browser;
  await openRun(ids.tagged, 'tagged');
  const rows = await page.locator('.params-table tr[data-param]').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-param'), tr.children[1].textContent]));
  expect(rows).toEqual([
    ['lr', '0.01'],
    ['model.depth', '4'],
    ['optimizer', 'adam'],
  ]);
});

test('a tag added, changed and removed on the page reaches the service each time', async () => {
  const { page } = browser;
  await openRun(ids.tagged, 'tagged');
  await page.locator('tr[data-tag="stage"]').waitFor();
  // Add.
  await page.locator('input[name="tag-name"]').fill('owner');
  await page.locator('input[name="tag-value"]').fill('ada lovelace');
  await page.locator('form.tag-add button[type="submit"]').click();
  await page.locator('tr[data-tag="owner"]', { hasText: 'ada lovelace' }).waitFor();
  expect((await info(ids.tagged)).tags).toEqual({ stage: 'dev', owner: 'ada lovelace' });
  // Change.
  await page.locator('tr[data-tag="stage"] button[data-action="edit-tag"]').click();
  await page.locator('tr[data-tag="stage"] input[name="tag-edit"]').fill('prod');
  await page.locator('tr[data-tag="stage"] input[name="tag-edit"]').press('Enter');
  await page.locator('tr[data-tag="stage"]', { hasText: 'prod' }).waitFor();
  expect((await info(ids.tagged)).tags).toEqual({ stage: 'prod', owner: 'ada lovelace' });
  // Remove.
  await page.locator('tr[data-tag="owner"] button[data-action="remove-tag"]').click();
  await page.locator('tr[data-tag="owner"]').waitFor({ state: 'detached' });
  expect((await info(ids.tagged)).tags).toEqual({ stage: 'prod' });
  // The service's refusal shows by the form, and what was typed stays.
  await page.locator('input[name="tag-name"]').fill('   ');
  await page.locator('input[name="tag-value"]').fill('x');
  await page.locator('form.tag-add button[type="submit"]').click();
  const error = page.locator('.tags-editor .action-error', { hasText: 'empty' });
  await error.waitFor();
  expect(await page.locator('input[name="tag-value"]').inputValue()).toBe('x');
  expect((await info(ids.tagged)).tags).toEqual({ stage: 'prod' });
});

test('a note is Markdown shown as text-safe HTML: a script, an onerror image and a javascript: link stay text', async () => {
  const { page } = browser;
  await openRun(ids.noted, 'noted');
  const note = page.locator('.note-body');
  await note.locator('h1', { hasText: 'Findings' }).waitFor();
  expect(await note.locator('strong').innerText()).toBe('0.01');
  expect(await note.locator('a[href="https://arxiv.org/abs/1706.03762"]').getAttribute('rel')).toContain('noopener');
  expect(await note.locator('pre code').innerText()).toContain('python train.py --lr 0.01');
  // The HTML is shown as what it is, and nothing of it ran.
  expect(await note.locator('script, img, iframe, [onerror]').count()).toBe(0);
  const text = await note.innerText();
  expect(text).toContain('<script>window.__pwned = "script"</script>');
  expect(text).toContain('<img src="x" onerror=');
  expect(await note.locator('a[href^="javascript"]').count()).toBe(0);
  expect(text).toContain('[click me](javascript:');
  await page.waitForTimeout(100);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
});

test('a note edited on the page is saved to the service and shown rendered', async () => {
  const { page } = browser;
  await openRun(ids.tagged, 'tagged');
  await page.locator('button[data-action="edit-note"]').click();
  await page.locator('textarea[name="note"]').fill('Works with **warm-up**.\n\n- a\n- b');
  await page.locator('.note-form button[type="submit"]').click();
  await page.locator('.note-body strong', { hasText: 'warm-up' }).waitFor();
  expect(await page.locator('.note-body li').count()).toBe(2);
  expect((await info(ids.tagged)).note).toBe('Works with **warm-up**.\n\n- a\n- b');
  // Emptied, the note is removed.
  await page.locator('button[data-action="edit-note"]').click();
  await page.locator('textarea[name="note"]').fill('');
  await page.locator('.note-form button[type="submit"]').click();
  await page.locator('.note-body', { hasText: 'No note.' }).waitFor();
  expect((await info(ids.tagged)).note).toBeNull();
});

test('renaming saves the new name; a refused one shows the service’s reason beside the box', async () => {
  const { page } = browser;
  await openRun(ids.renamed, 'renamed');
  await page.locator('button[data-action="rename"]').click();
  const input = page.locator('input[name="run-name"]');
  await input.fill('x'.repeat(300));
  await input.press('Enter');
  await page.locator('.run-header .action-error', { hasText: 'body.name' }).waitFor();
  expect((await info(ids.renamed)).name).toBe('renamed');
  await input.fill('lr 0.01, warm-up');
  await input.press('Enter');
  await page.locator('h1', { hasText: 'lr 0.01, warm-up' }).waitFor();
  expect((await info(ids.renamed)).name).toBe('lr 0.01, warm-up');
  expect(await page.title()).toContain('lr 0.01, warm-up');
});

test('delete asks first; a deleted run’s page says so, it leaves the list, and restore brings it back', async () => {
  const { page } = browser;
  await openRun(ids.doomed, 'doomed');
  // Cancelled: nothing happens.
  await page.locator('button[data-action="delete"]').click();
  const dialog = page.locator('dialog.confirm');
  await dialog.waitFor();
  expect(await dialog.innerText()).toContain('doomed');
  await dialog.locator('button[data-action="cancel-delete"]').click();
  await dialog.waitFor({ state: 'hidden' });
  expect((await info(ids.doomed)).deleted).toBe(false);
  // Confirmed.
  await page.locator('button[data-action="delete"]').click();
  await dialog.locator('button[data-action="confirm-delete"]').click();
  await page.locator('.deleted-banner', { hasText: 'This run is deleted' }).waitFor();
  const deleted = await info(ids.doomed);
  expect(deleted.deleted).toBe(true);
  expect(deleted.deletedTime).not.toBeNull();
  // Reopened, the page still says so.
  await openRun(ids.doomed, 'doomed');
  await page.locator('.deleted-banner', { hasText: 'This run is deleted' }).waitFor();
  // Out of the list; in the list of deleted runs.
  await page.goto(`${server.url}/#/?experiment=edits`);
  await page.locator('.runs-scroll:not([data-loading]) tbody[data-shown]').waitFor();
  expect(await page.locator(`tr[data-run="${ids.doomed}"]`).count()).toBe(0);
  await page.locator('input[name="deleted"]').check();
  await page.locator(`tr[data-run="${ids.doomed}"]`).waitFor();
  expect(await page.locator('.count').innerText()).toBe('1 deleted run');
  // Restored from its page.
  await page.locator(`tr[data-run="${ids.doomed}"] a`).click();
  await page.locator('button[data-action="restore"]').click();
  await page.locator('button[data-action="delete"]').waitFor();
  expect(await page.locator('.deleted-banner').isHidden()).toBe(true);
  expect((await info(ids.doomed)).deleted).toBe(false);
  expect(dialogs).toEqual([]);
});
