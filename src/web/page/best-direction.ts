/**
 * Which way is better for a metric: lower for names that read as a cost (loss, error, perplexity,
 * time...), higher for the rest (accuracy, F1, reward...). People may flip it per metric; the
 * choice is kept in the browser.
 */
export type Direction = 'min' | 'max';

// Somewhere in the name, case ignored: "val_loss", "trainLoss", "top1_error", "mse".
const LOWER_PARTS = ['loss', 'error', 'perplexity', 'mse', 'mae', 'nll', 'regret', 'latency', 'distance', 'cost'];
// Whole words of the name (split at anything but letters and digits, and at camelCase).
const LOWER_WORDS = new Set(['err', 'ppl', 'wer', 'cer', 'fid', 'time', 'ms', 'seconds', 'sec', 'duration']);
const KEY = 'outpost.best.';

export function guessDirection(name: string): Direction {
  const lower = name.toLowerCase();
  if (LOWER_PARTS.some((p) => lower.includes(p))) return 'min';
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((w) => LOWER_WORDS.has(w)) ? 'min' : 'max';
}

/** The user's choice for this metric, else the guess. */
export function bestDirection(name: string): Direction {
  try {
    const saved = localStorage.getItem(KEY + name);
    if (saved === 'min' || saved === 'max') return saved;
  } catch {
    /* storage disabled */
  }
  return guessDirection(name);
}

/** Flips the metric's direction; a flip back to the guess forgets the choice. */
export function flipDirection(name: string): Direction {
  const next: Direction = bestDirection(name) === 'min' ? 'max' : 'min';
  try {
    if (next === guessDirection(name)) localStorage.removeItem(KEY + name);
    else localStorage.setItem(KEY + name, next);
  } catch {
    /* storage disabled: the flip lasts until reload */
  }
  return next;
}

/** The runs holding the best of the numeric values (every one of a tie); none when fewer than two runs have a number. */
export function bestOf(values: (unknown | undefined)[], dir: Direction): Set<number> {
  const nums = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
  const present = nums.filter((v): v is number => v !== null);
  if (present.length < 2) return new Set();
  const best = dir === 'min' ? Math.min(...present) : Math.max(...present);
  return new Set(nums.flatMap((v, i) => (v === best ? [i] : [])));
}
