/** The check that keeps end-to-end tests off a dist/ older than the sources, on a small project of its own. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { staleBuildProblem } from './fresh-build';

const BUILT = new Date('2030-01-01T00:00:00Z'); // when the outputs were written
const BEFORE = new Date(BUILT.getTime() - 60_000);
const AFTER = new Date(BUILT.getTime() + 5_000);

let root: string;

function write(rel: string, time: Date, text = ''): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  fs.utimesSync(file, time, time);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-fresh-build-'));
  write('tsconfig.json', BEFORE, JSON.stringify({ compilerOptions: { rootDir: '.', outDir: 'dist' }, include: ['src/**/*.ts', 'config/**/*.ts'], exclude: ['src/web/page/**'] }));
  for (const source of ['src/cli/index.ts', 'config/index.ts', 'src/web/page/main.ts', 'src/web/page/style.css', 'scripts/bench/index.ts']) write(source, BEFORE);
  for (const output of ['dist/src/cli/index.js', 'dist/config/index.js', 'dist/web/app.js', 'dist/web/app.css', 'dist/web/index.html']) write(output, BUILT);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('a build newer than every source is taken, whatever dist/ holds besides', () => {
  write('dist/src/cli/removed-since.js', BEFORE); // left by a build before its source was removed
  expect(staleBuildProblem(root)).toBeUndefined();
});

test('no build, or one without an output, is refused', () => {
  write('src/cli/new-file.ts', BEFORE); // a source the build has not seen
  expect(staleBuildProblem(root)).toBe('the build lacks dist/src/cli/new-file.js');
  fs.rmSync(path.join(root, 'dist/web/app.css'));
  fs.rmSync(path.join(root, 'src/cli/new-file.ts'));
  expect(staleBuildProblem(root)).toBe('the build lacks dist/web/app.css');
  fs.rmSync(path.join(root, 'dist'), { recursive: true });
  expect(staleBuildProblem(root)).toBe('there is no build (no dist/)');
});

test.each(['src/cli/index.ts', 'config/index.ts', 'src/web/page/main.ts', 'src/web/page/style.css', 'scripts/bench/index.ts'])(
  'a source changed after the build is named: %s',
  (source) => {
    write(source, AFTER);
    expect(staleBuildProblem(root)).toBe(`dist/ is older than ${source} (changed 5 s after the last build)`);
  },
);

test('of several sources changed since, the newest is named; the oldest output dates the build', () => {
  write('src/cli/index.ts', AFTER);
  write('config/index.ts', new Date(AFTER.getTime() + 2_000));
  write('dist/web/app.js', new Date(AFTER.getTime() + 60_000)); // the page alone rebuilt since
  expect(staleBuildProblem(root)).toBe('dist/ is older than config/index.ts (changed 7 s after the last build)');
});

test('files beside the sources that the build does not read are not sources', () => {
  for (const other of ['src/client/python/helper.py', 'scripts/test.sh', 'test/a.test.ts', 'src/notes.md']) write(other, AFTER);
  expect(staleBuildProblem(root)).toBeUndefined();
});
