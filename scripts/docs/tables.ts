/**
 * The settings and error tables of docs/configuration.md, made from their one source each:
 * config/*.ts (each default with its unit comment) and src/protocol/errors.ts. `npm run generate`
 * rewrites them; a test fails when the page and the code disagree.
 */
import fs from 'fs';
import path from 'path';
import { defaults } from '../../config';
import { serviceMaxima } from '../../config/service';
import { CODES, statusOf, type ErrorCode } from '../../src/protocol/errors';

export const DOC_PAGE = 'docs/configuration.md';
const SOURCES: Record<keyof typeof defaults, string> = { limits: 'config/limits.ts', agent: 'config/agent.ts', service: 'config/service.ts', client: 'config/client.ts' };
const MAXIMA: Record<string, Readonly<Record<string, number | undefined>>> = { service: serviceMaxima };

/** The package root: the folder above holding package.json (this file runs from scripts/ or dist/scripts/). */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** `key: value, // comment` in a defaults object: the comment is the setting's documentation. */
function commentOf(source: string, key: string): string {
  const m = new RegExp(`^\\s*${key}: .*?, // (.*)$`, 'm').exec(source);
  if (!m) throw new Error(`${key} has no "// unit: what it does" comment in its defaults object`);
  return m[1].trim();
}

function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n.toLocaleString('en-US')} bytes`;
}

/** A default as people read it: units from the name (…Bytes, …Ms, …S), thousands separated. */
export function formatDefault(key: string, value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\``;
  if (typeof value === 'boolean') return `\`${value}\``;
  const n = value as number;
  if (key === 'port') return String(n);
  if (/BytesPerSec$/.test(key)) return `${formatBytes(n)}/s`;
  if (/Bytes$/.test(key)) return n === 0 ? '0' : formatBytes(n);
  if (/Ms$/.test(key)) return n >= 1000 && n % 1000 === 0 ? `${(n / 1000).toLocaleString('en-US')} s` : `${n} ms`;
  if (/S$/.test(key)) return `${n} s`;
  return n.toLocaleString('en-US');
}

/** The comment without the unit it starts with ("64 KiB: ", "ms ", "seconds, "), which the default column says. */
function description(comment: string): string {
  const text = comment.replace(/^[\d.,]+ ?[KMG]iB(\/s)?: /, '').replace(/^(ms|seconds),? /, '');
  // "wait() waits ...": a name stays as it is written.
  return /^\w+\(/.test(text) ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

export function settingsTable(root = repoRoot()): string {
  const rows = ['| setting | default | what it does |', '| --- | --- | --- |'];
  for (const [section, file] of Object.entries(SOURCES) as [keyof typeof defaults, string][]) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [key, value] of Object.entries(defaults[section])) {
      const max = MAXIMA[section]?.[key];
      const bound = max === undefined ? '' : ` (at most ${formatDefault(key, max)})`;
      rows.push(`| \`${section}.${key}\` | ${formatDefault(key, value)} | ${description(commentOf(source, key))}${bound} |`);
    }
  }
  return rows.join('\n');
}

export function errorsTable(): string {
  const rows = ['| code | HTTP status | meaning |', '| --- | --- | --- |'];
  // By status; the errors that never cross HTTP (settings, start-up) last.
  const rank = (code: ErrorCode) => statusOf(code) ?? 1000;
  const codes = (Object.keys(CODES) as ErrorCode[]).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const code of codes) rows.push(`| \`${code}\` | ${statusOf(code) ?? '(not HTTP)'} | ${CODES[code].summary} |`);
  return rows.join('\n');
}

/** The page with each generated block replaced by what the code says now. */
export function renderPage(page: string, root = repoRoot()): string {
  const blocks: Record<string, () => string> = { settings: () => settingsTable(root), errors: errorsTable };
  return page.replace(/(<!-- generated: (\w+) [^>]*-->\n)[\s\S]*?(<!-- end of generated \2 -->)/g, (_all, open: string, name: string, close: string) => {
    const make = blocks[name];
    if (!make) throw new Error(`${DOC_PAGE}: no generator for the block "${name}"`);
    return `${open}${make()}\n${close}`;
  });
}

if (require.main === module) {
  const root = repoRoot();
  const file = path.join(root, DOC_PAGE);
  const page = fs.readFileSync(file, 'utf8');
  const next = renderPage(page, root);
  if (process.argv.includes('--check')) {
    if (next !== page) {
      process.stderr.write(`${DOC_PAGE} is out of date with config/ or src/protocol/errors.ts: run npm run generate\n`);
      process.exit(1);
    }
  } else if (next !== page) {
    fs.writeFileSync(file, next);
    process.stderr.write(`${DOC_PAGE}: tables rewritten\n`);
  }
}
