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
  // Chunks of an earlier build would be served, never loaded.
  for (const f of fs.readdirSync(outDir)) if (/^chunk-.*\.js(\.map)?$/.test(f)) fs.rmSync(path.join(outDir, f));
  // main.ts imports uPlot's CSS and style.css: esbuild writes them together as app.css next to app.js.
  // ES modules split into chunks: the views loaded on demand (main.ts) bring their own code.
  const result = await esbuild.build({
    entryPoints: { app: path.join(pageDir, 'main.ts') },
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    splitting: true,
    chunkNames: 'chunk-[hash]',
    target: ['chrome110', 'firefox110', 'safari16'],
    outdir: outDir,
    metafile: true,
    loader: { '.css': 'css' },
    logLevel: 'warning',
  });
  // The chunks app.js imports at once are named in index.html, so they load beside it, not after it.
  const app = Object.values(result.metafile.outputs).find((o) => o.entryPoint && o.entryPoint.endsWith('main.ts'));
  const preload = app.imports.filter((i) => i.kind === 'import-statement').map((i) => `  <link rel="modulepreload" href="${path.basename(i.path)}">\n`).join('');
  const html = fs.readFileSync(path.join(pageDir, 'index.html'), 'utf8').replace('</head>', `${preload}</head>`);
  fs.writeFileSync(path.join(outDir, 'index.html'), html);
  // A style.css left by an older build would be served but never linked.
  fs.rmSync(path.join(outDir, 'style.css'), { force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
