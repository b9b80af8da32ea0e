// turn-check's pieces that need no server (src/diagnostics/turn-check.ts, protocol-errors.ts): percentiles, URL
// validation, and TURN error responses in words.
import { describe, expect, it } from 'vitest';
import { turnErrorFor } from '../../src/diagnostics/protocol-errors.js';
import { percentile, parseTurnUrls } from '../../src/diagnostics/turn-check.js';
import { ErrorResponseError } from '../../src/stun/errors.js';

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
