/**
 * Benchmarks: each file scripts/bench/<name>.bench.ts exports `benchmark`. Every figure is printed
 * beside its baseline measured in the same run, as a ratio, and written to .bench/results.json.
 */
export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  baseline: number;
  /** value / baseline, oriented so that the aim reads naturally (see `aim`). */
  ratio: number;
  /** What good looks like, e.g. "ratio >= 0.5" or "value < 100". */
  aim?: string;
  baselineLabel?: string;
  notes?: string;
}

export interface Benchmark {
  name: string;
  description: string;
  run(): Promise<BenchResult[]>;
}

export function ratio(value: number, baseline: number): number {
  return baseline === 0 ? 0 : Number((value / baseline).toFixed(4));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
