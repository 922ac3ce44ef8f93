/**
 * End-to-end tests start bin/outpost.js, which runs the built dist/: against a build older than
 * the sources they would pass or fail on old code. jest's globalSetup: the run is refused, once,
 * before any test starts, when a source is newer than the build or there is no build.
 */
import fs from 'fs';
import path from 'path';
import fg from 'fast-glob';
import ts from 'typescript';

const SOURCE_DIRS = ['src', 'config', 'scripts'];
const PAGE_DIR = 'src/web/page'; // bundled by scripts/build-web.js
const PAGE_OUTPUTS = ['app.js', 'app.css', 'index.html'].map((f) => path.join('dist', 'web', f));

/** Why the build in `root` cannot be trusted, or undefined when it is newer than every source. */
export function staleBuildProblem(root: string): string | undefined {
  // The build writes every output each time, so the oldest one is when it ran.
  if (!fs.existsSync(path.join(root, 'dist'))) return 'there is no build (no dist/)';
  let built = Infinity;
  for (const output of [...compiledOutputs(root), ...PAGE_OUTPUTS]) {
    const mtime = mtimeMs(path.join(root, output));
    if (mtime === undefined) return `the build lacks ${output}`;
    built = Math.min(built, mtime);
  }
  let newest: { file: string; mtime: number } | undefined;
  for (const file of sources(root)) {
    const mtime = mtimeMs(path.join(root, file));
    if (mtime !== undefined && mtime > built && (!newest || mtime > newest.mtime)) newest = { file, mtime };
  }
  if (!newest) return undefined;
  const after = Math.max(1, Math.round((newest.mtime - built) / 1000));
  return `dist/ is older than ${newest.file} (changed ${after} s after the last build)`;
}

/** The JavaScript tsc writes for each file tsconfig.json compiles, relative to `root`. */
function compiledOutputs(root: string): string[] {
  const configPath = path.join(root, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(`${configPath}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    },
  });
  if (!parsed) throw new Error(`${configPath} could not be read`);
  const ignoreCase = !ts.sys.useCaseSensitiveFileNames;
  return parsed.fileNames.flatMap((f) => ts.getOutputFileNames(parsed, f, ignoreCase).filter((o) => o.endsWith('.js')).map((o) => path.relative(root, o)));
}

/** Every .ts under src/, config/ and scripts/, and every file of the page (its CSS and HTML too). */
function sources(root: string): string[] {
  return fg.sync([...SOURCE_DIRS.map((d) => `${d}/**/*.ts`), `${PAGE_DIR}/**`], { cwd: root, dot: true });
}

function mtimeMs(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

export default function globalSetup(): void {
  const problem = staleBuildProblem(path.join(__dirname, '..', '..'));
  if (!problem) return;
  const refusal = new Error(`End-to-end tests run the built dist/, and ${problem}: run \`npm run build\`, then jest again.`);
  refusal.stack = refusal.message; // the reason is the message; a stack of jest's own frames hides it
  throw refusal;
}
