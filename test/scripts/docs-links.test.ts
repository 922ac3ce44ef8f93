/** Every link between the README and the pages of docs/ leads to a file that exists, and to a heading it has. */
import fs from 'fs';
import path from 'path';
import { repoRoot } from '../../scripts/docs/tables';

const root = repoRoot();
const pages = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = fs.readFileSync(path.join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1])));
}

test.each(pages)('the links of %s lead somewhere', (page) => {
  const text = fs.readFileSync(path.join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  const broken: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue; // http:, mailto:
    const [file, hash] = target.split('#');
    const dest = file ? path.posix.normalize(path.posix.join(path.posix.dirname(page), file)) : page;
    if (!fs.existsSync(path.join(root, dest))) broken.push(`${target}: no file ${dest}`);
    else if (hash && dest.endsWith('.md') && !anchorsOf(dest).has(hash)) broken.push(`${target}: no heading #${hash} in ${dest}`);
  }
  expect(broken).toEqual([]);
});
