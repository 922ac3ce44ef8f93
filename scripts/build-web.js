// Bundles the run-history page (src/web/page) into dist/web with esbuild: no build at run time, no CDN.
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const pageDir = path.join(root, 'src', 'web', 'page');
const outDir = path.join(root, 'dist', 'web');

async function main() {
  if (!fs.existsSync(path.join(pageDir, 'main.ts'))) {
    console.error(`build-web: ${pageDir}/main.ts not found`);
    process.exit(1);
  }
  fs.mkdirSync(outDir, { recursive: true });
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
  for (const file of ['index.html', 'style.css']) {
    const src = path.join(pageDir, file);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(outDir, file));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
