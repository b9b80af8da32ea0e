// TURN REST credential minting (src/turn/credentials.ts), the vector computed independently with
// `openssl dgst -sha1 -hmac`. Stream framing: transport.test.ts; turn-check's helpers: test/diagnostics/turn-check.helpers.test.ts.
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/stun/errors.js';
import { mintRestCredentials } from '../../src/turn/credentials.js';

describe('TURN REST credentials (coturn use-auth-secret)', () => {
  it('matches openssl: echo -n "1700003600:alice" | openssl dgst -sha1 -hmac s3cret -binary | base64', () => {
    const c = mintRestCredentials({ secret: 's3cret', user: 'alice', ttlSeconds: 3600, now: 1_700_000_000_000 });
    expect(c).toEqual({ username: '1700003600:alice', password: 'YAFdW/YDZewZsR1QSgUk2IrfbRI=', expiresAt: 1_700_003_600 });
  });
  it('without a user part the username is the expiry alone', () => {
    const c = mintRestCredentials({ secret: 's3cret', ttlSeconds: 3600, now: 1_700_000_000_999 });
    expect(c.username).toBe('1700003600');
    expect(c.password).toBe('hkHv/K58ZdACCJ9F4MWT46M317I=');
  });
  it('refuses an empty secret, a bad ttl and a user with a colon', () => {
    expect(() => mintRestCredentials({ secret: '' })).toThrow(expect.objectContaining({ option: 'secret' }));
    expect(() => mintRestCredentials({ secret: 's', ttlSeconds: 0 })).toThrow(expect.objectContaining({ option: 'ttlSeconds' }));
    expect(() => mintRestCredentials({ secret: 's', user: 'a:b' })).toThrow(/must not contain ":"/);
    expect(() => mintRestCredentials({ secret: 's', user: 'a:b' })).toThrow(InvalidOptionError);
  });
});
