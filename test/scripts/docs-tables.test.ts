/** docs/configuration.md's tables are made from config/ and src/protocol/errors.ts: they must say what the code says. */
import fs from 'fs';
import path from 'path';
import { DOC_PAGE, errorsTable, formatDefault, renderPage, repoRoot, settingsTable } from '../../scripts/docs/tables';
import { defaults } from '../../config';
import { CODES, statusOf, type ErrorCode } from '../../src/protocol/errors';

test('the settings and error tables of docs/configuration.md are the ones the code makes (run `npm run generate` after changing a setting or an error)', () => {
  const page = fs.readFileSync(path.join(repoRoot(), DOC_PAGE), 'utf8');
  expect(renderPage(page)).toBe(page);
});

test('every setting and every error code has its row, with its default and status', () => {
  const settings = settingsTable();
  for (const [section, values] of Object.entries(defaults)) {
    for (const [key, value] of Object.entries(values)) expect(settings).toContain(`| \`${section}.${key}\` | ${formatDefault(key, value)} |`);
  }
  const errors = errorsTable();
  for (const code of Object.keys(CODES) as ErrorCode[]) expect(errors).toContain(`| \`${code}\` | ${statusOf(code) ?? '(not HTTP)'} |`);
});

test('defaults read with their units', () => {
  expect(formatDefault('maxFileBytes', 512 * 1024 * 1024)).toBe('512 MiB');
  expect(formatDefault('fileStableMs', 300)).toBe('300 ms');
  expect(formatDefault('retryMaxMs', 30_000)).toBe('30 s');
  expect(formatDefault('minUploadBytesPerSec', 64 * 1024)).toBe('64 KiB/s');
  expect(formatDefault('busyRetryAfterS', 2)).toBe('2 s');
  expect(formatDefault('batchMaxLines', 10_000)).toBe('10,000');
  expect(formatDefault('uploadExisting', false)).toBe('`false`');
});

test('a changed default shows as a page out of date', () => {
  const page = fs.readFileSync(path.join(repoRoot(), DOC_PAGE), 'utf8');
  const stale = page.replace('| `agent.fileStableMs` | 300 ms |', '| `agent.fileStableMs` | 250 ms |');
  expect(stale).not.toBe(page);
  expect(renderPage(stale)).toBe(page);
});
