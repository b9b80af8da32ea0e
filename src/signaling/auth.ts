/**
 * The `serve --token` check, with a throttle on guessing: after `failuresPerMinute` wrong (or missing) tokens from one
 * address key (limiter.ts addressKey), token joins from it are refused without comparing until the allowance refills,
 * so the answer tells a guesser nothing and the guess rate is bounded per address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TOKEN_MAX } from './protocol.js';
import { FailureThrottle, type Clock } from './limiter.js';

export type TokenVerdict = { ok: true } | { ok: false; reason: 'wrong' } | { ok: false; reason: 'throttled'; retryAfterMs: number };

export class TokenGate {
  private readonly hash?: Buffer;
  private readonly throttle: FailureThrottle;

  constructor(token: string | undefined, failuresPerMinute: number, now: Clock = Date.now) {
    if (token !== undefined) this.hash = createHash('sha256').update(token).digest();
    this.throttle = new FailureThrottle(failuresPerMinute, 10_000, now);
  }

  /** True when `join` must carry the token. */
  get required(): boolean {
    return this.hash !== undefined;
  }

  check(addressKey: string, given: string | undefined): TokenVerdict {
    if (this.hash === undefined) return { ok: true };
    const wait = this.throttle.blockedMs(addressKey);
    if (wait > 0) return { ok: false, reason: 'throttled', retryAfterMs: wait };
    if (given !== undefined && given.length <= TOKEN_MAX) {
      // Compare digests in constant time so the comparison leaks nothing about the secret.
      if (timingSafeEqual(createHash('sha256').update(given).digest(), this.hash)) return { ok: true };
    }
    this.throttle.fail(addressKey);
    return { ok: false, reason: 'wrong' };
  }
}
