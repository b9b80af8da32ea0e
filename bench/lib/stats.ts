/**
 * Summary statistics with the benchmark rules of this repository (bench/lib/README.md): the median of a set of
 * measurements, the median *round* (one real round, never the best value of each metric picked across rounds), nearest-
 * rank percentiles, and the highest rate within a latency bound (every step up to it met the bound).
 */

/** Median; the mean of the two middle values for an even count; NaN for an empty list. NaN inputs are ignored. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The median round: the one round whose `key` is the median, so every figure reported next to it comes from the same
 * round. With an even count it is the lower of the two middle rounds (a real round, not an average of two). Rounds
 * whose key is NaN (the round failed) rank last, so a failed round is never picked while enough rounds worked.
 */
export function medianRound<T>(rounds: readonly T[], key: (r: T) => number): T {
  if (rounds.length === 0) throw new Error('medianRound: no rounds');
  const k = (r: T): number => {
    const v = key(r);
    return Number.isNaN(v) ? Infinity : v;
  };
  const sorted = [...rounds].sort((a, b) => k(a) - k(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/**
 * "Within the bound" means the highest rate up to which EVERY step met the bound: steps are taken in increasing rate
 * and the first step that misses ends the walk, even if a higher step happened to meet it again. Returns the last step
 * that met it, or undefined when the lowest step already missed.
 */
export function highestWithinBound<T>(steps: readonly T[], rate: (s: T) => number, meets: (s: T) => boolean): T | undefined {
  let best: T | undefined;
  for (const s of [...steps].sort((a, b) => rate(a) - rate(b))) {
    if (!meets(s)) break;
    best = s;
  }
  return best;
}
