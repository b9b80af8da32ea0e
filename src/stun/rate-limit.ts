/**
 * A token bucket per source address, with a bounded table: a STUN server answers anyone, so the table must not grow
 * with the number of (possibly spoofed) sources. Used by the embedded server (./server.ts) so that it cannot be made
 * to flood a victim whose address is spoofed in the requests (RFC 8489 §16.1 amplification and reflection).
 */
export interface SourceRateLimitOptions {
  /** Sustained requests per second per source; 0 or Infinity turns the limit off. */
  ratePerSecond: number;
  /** Bucket size: how many requests a source may send at once (default 2 × rate). */
  burst?: number;
  /** Sources remembered at most; the least recently seen are forgotten first (default 10 000). */
  maxSources?: number;
  /** Clock in ms (injectable for tests). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxSources: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: SourceRateLimitOptions) {
    this.rate = opts.ratePerSecond > 0 ? opts.ratePerSecond : Infinity;
    this.burst = opts.burst ?? Math.max(1, 2 * this.rate);
    this.maxSources = opts.maxSources ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Take one token for `source`; false when its bucket is empty (drop the request). */
  allow(source: string): boolean {
    if (this.rate === Infinity) return true;
    const now = this.now();
    let b = this.buckets.get(source);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
      // Map order is insertion order: re-insert so the least recently seen sources come first.
      this.buckets.delete(source);
    } else {
      b = { tokens: this.burst, at: now };
      this.evict();
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Sources currently remembered (for tests and stats). */
  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    while (this.buckets.size >= this.maxSources) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
