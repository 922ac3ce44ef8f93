/** `npm run bench [-- NAME...]`: runs the benchmarks found beside this file and writes .bench/results.json. */
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type { Benchmark, BenchResult } from './harness';

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.js')).sort();
  const all: Benchmark[] = files.map((f) => (require(path.join(__dirname, f)) as { benchmark: Benchmark }).benchmark);
  const unknown = wanted.filter((w) => !all.some((b) => b.name === w));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${all.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  const chosen = wanted.length ? all.filter((b) => wanted.includes(b.name)) : all;
  const outDir = path.join(process.cwd(), '.bench');
  const outFile = path.join(outDir, 'results.json');
  // Keep earlier figures of benchmarks not run this time.
  let previous: BenchResult[] = [];
  try {
    previous = (JSON.parse(fs.readFileSync(outFile, 'utf8')) as { benchmarks: BenchResult[] }).benchmarks;
  } catch {
    previous = [];
  }
  const fresh: BenchResult[] = [];
  for (const b of chosen) {
    // Each starts with the disk quiet: the gigabytes an earlier benchmark left in the page cache
    // would otherwise be written back during this one (many-files: 10-11 s alone, 16 s after big-file).
    execFileSync('sync');
    console.log(`\n== ${b.name}: ${b.description}`);
    const results = await b.run();
    for (const r of results) {
      console.log(
        `${r.name.padEnd(28)} ${fmt(r.value)} ${r.unit}  baseline ${fmt(r.baseline)}${r.baselineLabel ? ` (${r.baselineLabel})` : ''}  ratio ${r.ratio}${r.aim ? `  aim: ${r.aim}` : ''}`,
      );
      if (r.notes) console.log(`  ${r.notes}`);
    }
    fresh.push(...results);
  }
  const names = new Set(fresh.map((r) => r.name));
  const merged = [...previous.filter((r) => !names.has(r.name)), ...fresh];
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify({ benchmarks: merged }, null, 2)}\n`);
  console.log(`\nwrote ${outFile}`);
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
