/**
 * Downsampling a metric's history, shared by every store so that they all pick the same points.
 * Numbers: the series is cut into buckets and each bucket gives its lowest and highest point, so
 * spikes survive; a long series is read as per-block rollups (min and max of each block of
 * BLOCK_POINTS points, kept at ingest) instead of point by point. Other types: evenly spaced
 * points. The first and last points are always kept. The store then fetches the chosen points in
 * one query.
 */
import type { MetricType } from '../protocol';

/** Points per rollup block: downsampling a long series reads count/BLOCK_POINTS rows. They are on disk: never change it. */
export const BLOCK_POINTS = 64;

/** [first index covered, index of the least, the least, index of the greatest, the greatest]. */
export type Extremes = [start: number, minIdx: number, min: number, maxIdx: number, max: number];

/** What to read: the block rollups, every numeric point, or nothing (evenly spaced indexes). */
export interface DownsamplePlan {
  read: 'blocks' | 'points' | 'none';
  bucket: number;
}

export function planDownsample(type: MetricType, count: number, maxPoints: number): DownsamplePlan {
  if (type !== 'integer' && type !== 'float') return { read: 'none', bucket: 0 };
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const bucket = Math.ceil(count / buckets);
  // Whole blocks per bucket, so block extremes are bucket candidates.
  if (bucket >= BLOCK_POINTS) return { read: 'blocks', bucket: Math.ceil(bucket / BLOCK_POINTS) * BLOCK_POINTS };
  return { read: 'points', bucket };
}

/** The indexes to fetch, ascending, at most maxPoints; `rows` are what the plan said to read, in index order. */
export function chooseIndexes(plan: DownsamplePlan, count: number, maxPoints: number, rows: Iterable<Extremes>): number[] {
  const wanted = new Set<number>([0, count - 1]);
  if (plan.read === 'none') {
    const stride = count / (maxPoints - 1);
    for (let i = 0; i < maxPoints - 1; i++) wanted.add(Math.floor(i * stride));
  } else {
    let current = -1;
    let lo: [number, number] = [0, Infinity];
    let hi: [number, number] = [0, -Infinity];
    const flush = () => {
      if (current >= 0) wanted.add(lo[0]).add(hi[0]);
    };
    for (const [start, minIdx, min, maxIdx, max] of rows) {
      const b = Math.floor(start / plan.bucket);
      if (b !== current) {
        flush();
        current = b;
        lo = [minIdx, min];
        hi = [maxIdx, max];
        continue;
      }
      if (min < lo[1]) lo = [minIdx, min];
      if (max > hi[1]) hi = [maxIdx, max];
    }
    flush();
  }
  return [...wanted].sort((a, b) => a - b).slice(0, maxPoints);
}

export interface Block {
  block: number;
  minIdx: number;
  min: number;
  maxIdx: number;
  max: number;
}

/**
 * The rollup of one series while a batch is stored: numeric points go in in index order, and a
 * block is handed to `flush` when the next one starts (and at the end of the batch). A block may
 * span two batches: the store merges what it is handed with what it has.
 */
export class BlockRollup {
  private current: Block | null = null;

  constructor(private readonly flush: (b: Block) => void) {}

  add(idx: number, v: number): void {
    const block = Math.floor(idx / BLOCK_POINTS);
    let b = this.current;
    if (b && b.block !== block) {
      this.end();
      b = null;
    }
    if (!b) {
      this.current = { block, minIdx: idx, min: v, maxIdx: idx, max: v };
      return;
    }
    if (v < b.min) {
      b.min = v;
      b.minIdx = idx;
    }
    if (v > b.max) {
      b.max = v;
      b.maxIdx = idx;
    }
  }

  end(): void {
    if (this.current) this.flush(this.current);
    this.current = null;
  }
}
