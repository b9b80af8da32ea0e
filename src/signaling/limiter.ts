/**
 * The signaling server's limiters, one small object per kind of limit (like ws's lib/limiter.js): the token bucket
 * behind the message rate limit and the log budget, per-address connection counts, and the wrong-token throttle.
 * Pure: time comes from an injectable clock, nothing here touches a socket.
 */
import { ipv6ToBytes, isV4Mapped } from '../net/ip.js';

export type Clock = () => number;

/** Token bucket: holds up to `capacity` tokens, refilled at `perSecond`; each admitted event takes one. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly perSecond: number,
    readonly capacity: number,
    private readonly now: Clock = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    const elapsed = t - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.perSecond) / 1000);
      this.last = t;
    }
  }

  /** Take one token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True once the bucket has refilled completely (the client calmed down long enough). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  /** Milliseconds until one token is available (0 if one is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }
}

export interface RateLimit {
  /** Sustained messages per second per connection. */
  perSecond: number;
  /** How many messages may arrive at once before the sustained rate applies. */
  burst: number;
}

/** What to do with one incoming message. */
export type RateVerdict = 'accept' | 'drop' | 'drop-and-tell' | 'cut-off';

/**
 * The per-connection message rate limit: a token bucket, plus when to tell the client (at most once a second) and when
 * to give up on a client that keeps flooding long after being told (more than max(1000, 10 × burst) drops without the
 * bucket ever refilling completely).
 */
export class MessageRateLimiter {
  private readonly bucket: TokenBucket;
  private dropped = 0;
  private lastTold = -Infinity;

  constructor(
    private readonly rate: RateLimit,
    private readonly now: Clock = Date.now,
  ) {
    this.bucket = new TokenBucket(rate.perSecond, rate.burst, now);
  }

  check(): RateVerdict {
    // Only a client that calmed down long enough to refill its whole burst is forgiven its drops.
    if (this.dropped > 0 && this.bucket.isFull()) this.dropped = 0;
    if (this.bucket.take()) return 'accept';
    this.dropped++;
    if (this.dropped > Math.max(1000, this.rate.burst * 10)) return 'cut-off';
    const t = this.now();
    if (t - this.lastTold >= 1000) {
      this.lastTold = t;
      return 'drop-and-tell';
    }
    return 'drop';
  }
}

/**
 * A log budget: `perSecond` lines after a burst of 10 × perSecond; what does not fit is counted, and the count is
 * handed to the next line that fits (or to the last line, e.g. a disconnect), so the log says how much it left out.
 */
export class LogBudget {
  private readonly bucket: TokenBucket;
  private suppressed = 0;

  constructor(perSecond: number, now: Clock = Date.now) {
    this.bucket = new TokenBucket(perSecond, Math.max(1, perSecond * 10), now);
  }

  /** `undefined`: leave this line out. A number: log it, with this many left out before it. */
  admit(): number | undefined {
    if (!this.bucket.take()) {
      this.suppressed++;
      return undefined;
    }
    return this.take();
  }

  /** The count of lines left out so far (and reset it): for a final line that is always logged. */
  take(): number {
    const n = this.suppressed;
    this.suppressed = 0;
    return n;
  }
}

/**
 * The key under which per-address limits count a client. IPv4: the address (an IPv4-mapped IPv6 address counts as
 * its IPv4 address). IPv6: the /64 prefix, because one host commonly holds a whole /64 (RFC 4291 §2.5.4, RFC 7421)
 * and could otherwise take a fresh address for every connection.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const b = ipv6ToBytes(bare);
  if (!b) return bare;
  if (isV4Mapped(b)) return b.subarray(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return `${groups.join(':')}::/64`;
}

/** Concurrent connections per address key, at most `max` each. Entries go away when their count reaches 0. */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Count one more connection for `key`, or return false if it already holds `max`. */
  tryAdd(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  remove(key: string): void {
    const n = this.counts.get(key);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** How many keys are tracked (for tests: the table does not leak). */
  get size(): number {
    return this.counts.size;
  }
}

/**
 * Failures per address key: `perMinute` allowed (refilled continuously), then the key is blocked until a token is
 * back. The table holds at most `maxEntries` keys: fully refilled entries are dropped first, then the oldest, so an
 * attacker with many addresses cannot grow memory without bound.
 */
export class FailureThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perMinute: number,
    private readonly maxEntries = 10_000,
    private readonly now: Clock = Date.now,
  ) {}

  /** 0 when `key` may try; otherwise the milliseconds until it may try again. */
  blockedMs(key: string): number {
    return this.buckets.get(key)?.waitMs() ?? 0;
  }

  /** Record one failure of `key`. */
  fail(key: string): void {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxEntries) this.evict();
      b = new TokenBucket(this.perMinute / 60, this.perMinute, this.now);
      this.buckets.set(key, b);
    }
    b.take();
  }

  private evict(): void {
    for (const [k, b] of this.buckets) if (b.isFull()) this.buckets.delete(k);
    // Still full: drop the oldest entries (Map iteration is insertion order).
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxEntries) break;
      this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
