// The server's limiters with an injected clock: token bucket, message rate verdicts, log budget, per-address counts
// (IPv6 by /64), the wrong-token throttle with its bounded table, and the read tracker behind the backlog limit.
import { describe, expect, it } from 'vitest';
import { AddressCounter, FailureThrottle, LogBudget, MessageRateLimiter, TokenBucket, addressKey } from '../../src/signaling/limiter.js';
import { ReadTracker } from '../../src/signaling/backlog.js';
import { TokenGate } from '../../src/signaling/auth.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('TokenBucket', () => {
  it('admits a burst, then the sustained rate; says how long until the next token', () => {
    const c = clock();
    const b = new TokenBucket(10, 3, c.now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.waitMs()).toBe(100);
    c.advance(100);
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    c.advance(10_000);
    expect(b.isFull()).toBe(true);
  });
});

describe('MessageRateLimiter', () => {
  it('tells at most once a second, forgives only after a full refill, cuts off after max(1000, 10 × burst) drops', () => {
    const c = clock();
    const r = new MessageRateLimiter({ perSecond: 5, burst: 2 }, c.now);
    expect([r.check(), r.check()]).toEqual(['accept', 'accept']);
    expect(r.check()).toBe('drop-and-tell');
    expect(r.check()).toBe('drop');
    c.advance(1000); // 5 tokens back, capped at 2: full, so the drops are forgiven
    expect(r.check()).toBe('accept');
    const verdicts: string[] = [];
    for (let i = 0; i < 1100; i++) verdicts.push(r.check());
    expect(verdicts.filter((v) => v === 'drop-and-tell')).toHaveLength(1);
    expect(verdicts.at(-1)).toBe('cut-off');
    expect(verdicts.indexOf('cut-off')).toBe(1001); // 1 accept, then drop number 1001
  });
});

describe('LogBudget', () => {
  it('logs a burst of 10 × rate, then counts what it leaves out and hands the count to the next line', () => {
    const c = clock();
    const b = new LogBudget(2, c.now);
    const admitted = Array.from({ length: 25 }, () => b.admit());
    expect(admitted.filter((x) => x !== undefined)).toHaveLength(20);
    expect(admitted.slice(0, 20).every((x) => x === 0)).toBe(true);
    c.advance(500);
    expect(b.admit()).toBe(5);
    expect(b.admit()).toBeUndefined();
    expect(b.take()).toBe(1);
    expect(b.take()).toBe(0);
  });
});

describe('addressKey and AddressCounter', () => {
  it('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64, zone ids dropped', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('counts per key up to the cap and forgets keys whose count returns to 0', () => {
    const a = new AddressCounter(2);
    expect([a.tryAdd('x'), a.tryAdd('x'), a.tryAdd('x'), a.tryAdd('y')]).toEqual([true, true, false, true]);
    a.remove('x');
    expect(a.tryAdd('x')).toBe(true);
    a.remove('x');
    a.remove('x');
    a.remove('y');
    a.remove('nobody');
    expect(a.size).toBe(0);
  });
});

describe('FailureThrottle and TokenGate', () => {
  it('blocks a key after perMinute failures until a token refills; other keys are free', () => {
    const c = clock();
    const t = new FailureThrottle(3, 100, c.now);
    for (let i = 0; i < 3; i++) t.fail('a');
    expect(t.blockedMs('a')).toBe(20_000); // one token every 60/3 s
    expect(t.blockedMs('b')).toBe(0);
    c.advance(20_000);
    expect(t.blockedMs('a')).toBe(0);
  });

  it('keeps at most maxEntries keys (refilled ones first, then the oldest)', () => {
    const c = clock();
    const t = new FailureThrottle(1, 3, c.now);
    for (const k of ['a', 'b', 'c', 'd', 'e']) t.fail(k);
    expect(t.size).toBe(3);
    expect(t.blockedMs('e')).toBeGreaterThan(0);
    expect(t.blockedMs('a')).toBe(0); // evicted: the table is bounded, not the attacker's guess count per key
  });

  it('TokenGate: right token ok; wrong and missing count; throttled answers without comparing', () => {
    const c = clock();
    const g = new TokenGate('s3cret', 2, c.now);
    expect(g.required).toBe(true);
    expect(g.check('k', 's3cret')).toEqual({ ok: true });
    expect(g.check('k', 'nope')).toEqual({ ok: false, reason: 'wrong' });
    expect(g.check('k', undefined)).toEqual({ ok: false, reason: 'wrong' });
    expect(g.check('k', 's3cret')).toMatchObject({ ok: false, reason: 'throttled', retryAfterMs: 30_000 });
    expect(g.check('k2', 's3cret')).toEqual({ ok: true });
    expect(g.check('k3', 'x'.repeat(5000))).toEqual({ ok: false, reason: 'wrong' });
    expect(new TokenGate(undefined, 1).check('k', 'anything')).toEqual({ ok: true });
  });
});

describe('ReadTracker', () => {
  it('the backlog is what was sent since the last echoed ping; forged and stale pongs prove nothing', () => {
    const r = new ReadTracker(4000);
    r.wrote(500);
    expect(r.ping(false)).toBeUndefined(); // less than a quarter of the limit since the last ping
    r.wrote(600);
    const n1 = r.ping(false)!;
    expect(n1).toHaveLength(8);
    r.wrote(2000);
    expect(r.backlog()).toBe(3100);
    expect(r.pong(Buffer.from('forged!!'))).toBe(false);
    expect(r.backlog()).toBe(3100);
    expect(r.pong(n1)).toBe(true);
    expect(r.backlog()).toBe(2000);
    expect(r.pong(n1)).toBe(false); // already used
    const n2 = r.ping(true)!;
    const n3 = r.ping(true)!;
    expect(r.pong(n3)).toBe(true); // a later ping's echo settles the earlier ones too
    expect(r.pong(n2)).toBe(false);
    expect(r.backlog()).toBe(0);
  });

  it('keeps at most 16 pings outstanding', () => {
    const r = new ReadTracker(400);
    const nonces: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      r.wrote(100);
      nonces.push(r.ping(true)!);
    }
    expect(r.pong(nonces[0]!)).toBe(false); // dropped as the oldest
    expect(r.pong(nonces[19]!)).toBe(true);
  });
});

describe('limiter edges (each pins a decision a mutant would change)', () => {
  it('TokenBucket: a full bucket has no wait, a partial token waits only for the rest, a clock stepping back takes nothing', () => {
    const c = clock();
    const b = new TokenBucket(10, 1, c.now);
    expect(b.waitMs()).toBe(0); // exactly one token
    b.take();
    c.advance(30); // 0.3 of a token back
    expect(b.waitMs()).toBe(70);
    c.advance(70);
    expect(b.take()).toBe(true);
    c.advance(1000);
    expect(b.isFull()).toBe(true);
    c.advance(-5000); // a wall clock set back (NTP step): no tokens taken away
    expect(b.isFull()).toBe(true);
    expect(b.take()).toBe(true);
  });

  it('TokenBucket: a bucket holding more than one token has no wait (not a negative one)', () => {
    const c = clock();
    const b = new TokenBucket(10, 3, c.now);
    expect(b.waitMs()).toBe(0); // 3 tokens
    b.take();
    expect(b.waitMs()).toBe(0); // 2 tokens
    b.take();
    c.advance(50); // 1.5 tokens
    expect(b.waitMs()).toBe(0);
  });

  it('MessageRateLimiter: a big burst allows 10 × burst drops before the cut-off', () => {
    const c = clock();
    const r = new MessageRateLimiter({ perSecond: 1, burst: 200 }, c.now);
    const verdicts = Array.from({ length: 2202 }, () => r.check());
    expect(verdicts.indexOf('cut-off')).toBe(2200); // 200 accepted, then drop number 2001
  });

  it('addressKey: only ::ffff:0:0/96 counts as IPv4; anything not an IP is its own key', () => {
    expect(addressKey('not-an-ip')).toBe('not-an-ip');
    expect(addressKey('64:ff9b::192.0.2.7')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('::ff:ffff:c000:207')).toBe('0:0:0:0::/64');
    expect(addressKey('::fffe:c000:207')).toBe('0:0:0:0::/64');
    expect(addressKey('::ff:c000:207')).toBe('0:0:0:0::/64');
    expect(addressKey('1::ffff:c000:207')).toBe('1:0:0:0::/64');
  });

  it('AddressCounter: remove takes one connection off, not the whole key', () => {
    const a = new AddressCounter(3);
    a.tryAdd('x');
    a.tryAdd('x');
    a.remove('x');
    expect(a.count('x')).toBe(1);
    expect(a.count('y')).toBe(0);
    expect(a.size).toBe(1);
  });

  it('FailureThrottle: evicts only when full, refilled entries before the oldest blocked one', () => {
    const c = clock();
    const t = new FailureThrottle(1, 3, c.now);
    t.fail('a');
    c.advance(60_000); // a has refilled: harmless to forget, but the table is not full yet
    t.fail('b');
    expect(t.size).toBe(2);
    t.fail('c');
    t.fail('d'); // full: a (refilled) goes, the blocked b and c stay
    expect(t.size).toBe(3);
    expect([t.blockedMs('b'), t.blockedMs('c'), t.blockedMs('d')].every((ms) => ms > 0)).toBe(true);
    t.fail('e'); // full, nothing refilled: the oldest (b) goes
    expect(t.size).toBe(3);
    expect(t.blockedMs('b')).toBe(0);
    expect(t.blockedMs('c')).toBeGreaterThan(0);
  });

  it('FailureThrottle: a refilled entry goes before an older blocked one', () => {
    const c = clock();
    const t = new FailureThrottle(1, 3, c.now);
    t.fail('a');
    t.fail('b');
    c.advance(60_000); // both refilled
    t.fail('a'); // a blocked again, still the oldest entry; b stays refilled
    t.fail('c');
    expect(t.size).toBe(3);
    t.fail('d'); // full: b (refilled) goes, not the oldest (a), which is still blocked
    expect(t.size).toBe(3);
    expect([t.blockedMs('a'), t.blockedMs('c'), t.blockedMs('d')].map((ms) => ms > 0)).toEqual([true, true, true]);
    expect(t.blockedMs('b')).toBe(0);
  });
});
