// Bundles the run-history page (src/web/page) into dist/web with esbuild: no build at run time, no CDN.
// The page is type-checked first with its own tsconfig (lib dom), so `npm run build` stays one command.
const esbuild = require('esbuild');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const pageDir = path.join(root, 'src', 'web', 'page');
const outDir = path.join(root, 'dist', 'web');

function typeCheck() {
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(pageDir, 'tsconfig.json'), '--noEmit'], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('build-web: the page does not type-check');
    process.exit(1);
  }
}

async function main() {
  if (!fs.existsSync(path.join(pageDir, 'main.ts'))) {
    console.error(`build-web: ${pageDir}/main.ts not found`);
    process.exit(1);
  }
  typeCheck();
  fs.mkdirSync(outDir, { recursive: true });
  // main.ts imports uPlot's CSS and style.css: esbuild writes them together as app.css next to app.js.
  await esbuild.build({
    entryPoints: [path.join(pageDir, 'main.ts')],
    bundle: true,
    minify: true,
    sourcemap: true,
    target: ['chrome110', 'firefox110', 'safari16'],
    outfile: path.join(outDir, 'app.js'),
    loader: { '.css': 'css' },
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(pageDir, 'index.html'), path.join(outDir, 'index.html'));
  // A style.css left by an older build would be served but never linked.
  fs.rmSync(path.join(outDir, 'style.css'), { force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
