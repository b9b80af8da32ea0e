// Unit tests for the pieces of turn-check that need no server: REST credential minting (vector computed
// independently with `openssl dgst -sha1 -hmac`), the TCP/TLS stream framing of RFC 8656 §12.5, percentiles and URL
// validation.
import { describe, expect, it } from 'vitest';
import { turnErrorFor } from '../../src/diagnostics/protocol-errors.js';
import { percentile, parseTurnUrls } from '../../src/diagnostics/turn-check.js';
import { BadMessageError, ErrorResponseError, InvalidOptionError } from '../../src/stun/errors.js';
import { mintRestCredentials } from '../../src/turn/credentials.js';
import { TurnStreamFramer, padForStream, isChannelData } from '../../src/turn/transport.js';

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

function stun(len: number, fill = 0): Buffer {
  const b = Buffer.alloc(20 + len, fill);
  b.writeUInt16BE(0x0101, 0);
  b.writeUInt16BE(len, 2);
  b.writeUInt32BE(0x2112a442, 4);
  return b;
}

describe('TURN stream framing (RFC 8656 §12.5: self-delimiting, ChannelData padded to 4)', () => {
  it('splits STUN and padded ChannelData arriving byte by byte', () => {
    const cd = Buffer.from([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]); // 5 data bytes + 3 padding
    const wire = Buffer.concat([stun(8, 7), cd, stun(0)]);
    const f = new TurnStreamFramer();
    const frames: Buffer[] = [];
    for (const byte of wire) frames.push(...f.push(Buffer.from([byte])));
    expect(frames.map((x) => x.length)).toEqual([28, 12, 20]);
    expect(isChannelData(frames[1]!)).toBe(true);
    expect(frames[1]!.subarray(4, 9)).toEqual(Buffer.from([1, 2, 3, 4, 5]));
  });
  it('keeps an incomplete frame until the rest arrives', () => {
    const f = new TurnStreamFramer();
    const m = stun(12);
    expect(f.push(m.subarray(0, 25))).toEqual([]);
    expect(f.push(m.subarray(25))).toEqual([m]);
  });
  it('rejects bytes that are neither STUN nor ChannelData with BadMessageError', () => {
    const f = new TurnStreamFramer();
    // A TLS alert record: first bits 00 like STUN, but no magic cookie.
    expect(() => f.push(Buffer.from('15030300020246000000000000000000', 'hex'))).toThrow(BadMessageError);
    // RTP-looking bytes (first bits 10) and a reserved channel number (0x5000-0x7FFF).
    expect(() => new TurnStreamFramer().push(Buffer.from('80600001aaaaaaaa', 'hex'))).toThrow(/neither STUN nor ChannelData/);
    expect(() => new TurnStreamFramer().push(Buffer.from('50000004aaaaaaaa', 'hex'))).toThrow(/neither STUN nor ChannelData/);
  });
  it('pads ChannelData to a multiple of 4 and leaves aligned data alone', () => {
    expect(padForStream(Buffer.alloc(5)).length).toBe(8);
    expect(padForStream(Buffer.alloc(8)).length).toBe(8);
  });
});

describe('turn-check helpers', () => {
  it('nearest-rank percentiles', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(s, 50)).toBe(5);
    expect(percentile(s, 95)).toBe(10);
    expect(percentile([3], 95)).toBe(3);
  });
  it('accepts turn:/turns: and rejects stun: and garbage with exit-2 codes', () => {
    expect(parseTurnUrls(['turn:127.0.0.1:3478?transport=tcp', 'turns:example.com'])[1]).toMatchObject({ scheme: 'turns', port: 5349 });
    expect(() => parseTurnUrls(['stun:127.0.0.1'])).toThrow(expect.objectContaining({ code: 'RTC_ERR_BAD_URL' }));
    expect(() => parseTurnUrls(['turn://x'])).toThrow(expect.objectContaining({ code: 'RTC_ERR_BAD_URL' }));
    expect(() => parseTurnUrls([])).toThrow(expect.objectContaining({ code: 'RTC_ERR_USAGE' }));
  });
  it('maps TURN error responses to stable codes in words', () => {
    const ctx = { role: 'TURN' as const, username: 'u', realm: 'r', transport: 'udp' as const };
    const server = { address: '1.2.3.4', port: 3478 };
    const err = (method: string, code: number, reason: string, peer?: { address: string; port: number }) => new ErrorResponseError(method, code, reason, server, peer);
    const auth = turnErrorFor(err('ALLOCATE', 401, 'Unauthorized'), ctx);
    expect(auth).toMatchObject({ code: 'RTC_ERR_TURN_AUTH', details: { stunError: 401 } });
    expect(auth.message).toBe('TURN server 1.2.3.4:3478 (udp) rejected the credentials of user "u" in realm "r" (401 Unauthorized after authenticating)');
    expect(turnErrorFor(err('CREATE-PERMISSION', 403, 'Forbidden', { address: '10.0.0.1', port: 1 }), ctx).message).toMatch(/refused CREATE-PERMISSION for peer 10\.0\.0\.1:1/);
    expect(turnErrorFor(err('ALLOCATE', 486, 'Allocation Quota Reached'), ctx).code).toBe('RTC_ERR_TURN_QUOTA');
    expect(turnErrorFor(err('ALLOCATE', 438, 'Stale Nonce'), ctx).message).toMatch(/stale nonce/);
    expect(turnErrorFor(err('REFRESH', 599, 'Odd'), ctx)).toMatchObject({ code: 'RTC_ERR_TURN', message: 'TURN server 1.2.3.4:3478 (udp) answered REFRESH with an error (599 Odd)' });
    // Library words never name a command-line flag (the commands add those hints).
    for (const code of [300, 401, 403, 420, 437, 438, 440, 441, 442, 486, 508]) {
      const e = turnErrorFor(err('ALLOCATE', code, 'x', server), ctx);
      expect(`${e.message} ${e.hint ?? ''}`).not.toMatch(/--[a-z]/);
    }
  });
});
