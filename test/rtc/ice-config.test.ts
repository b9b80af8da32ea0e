import { describe, it, expect } from 'vitest';
import { parseIceServerUrl, buildIceConfig } from '../../src/rtc/ice-config.js';
import { RtcError } from '../../src/errors.js';

describe('parseIceServerUrl (RFC 7064 / RFC 7065)', () => {
  it('applies scheme defaults for port and transport', () => {
    expect(parseIceServerUrl('stun:127.0.0.1')).toMatchObject({ scheme: 'stun', host: '127.0.0.1', port: 3478, transport: 'udp', isIpLiteral: true });
    expect(parseIceServerUrl('turn:example.org')).toMatchObject({ port: 3478, transport: 'udp', isIpLiteral: false });
    expect(parseIceServerUrl('turns:example.org')).toMatchObject({ port: 5349, transport: 'tcp' });
  });
  it('reads ports, ?transport and bracketed IPv6', () => {
    expect(parseIceServerUrl('turn:127.0.0.1:3479?transport=tcp')).toMatchObject({ port: 3479, transport: 'tcp' });
    expect(parseIceServerUrl('TURN:[::1]:3478')).toMatchObject({ scheme: 'turn', host: '::1', port: 3478 });
  });
  it.each([
    ['http://x', 'scheme'],
    ['turn://h:3478', '"//"'],
    ['stun:h:70000', 'port'],
    ['stun:h:abc', 'port'],
    ['stun:', 'host is missing'],
    ['turn:h?transport=sctp', 'transport must be'],
    ['turn:h?foo=1', 'unknown parameter'],
    ['stun:h?transport=udp', 'no query'],
    ['turn:::1:3478', 'brackets'],
    ['turns:h?transport=udp', 'DTLS'],
  ])('rejects %s', (url, why) => {
    const err = (() => {
      try {
        parseIceServerUrl(url);
      } catch (e) {
        return e as RtcError;
      }
      throw new Error('did not throw');
    })();
    expect(err).toBeInstanceOf(RtcError);
    expect(err.code).toBe('RTC_ERR_BAD_URL');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(why);
  });
});

describe('buildIceConfig', () => {
  it('never adds a server the user did not name', () => {
    expect(buildIceConfig({}).iceServers).toEqual([]);
  });
  it('attaches credentials to TURN servers only', () => {
    const c = buildIceConfig({ iceServer: ['stun:127.0.0.1', 'turn:127.0.0.1?transport=tcp'], iceUsername: 'u', iceCredential: 'p' });
    expect(c.iceServers).toEqual([
      { urls: 'stun:127.0.0.1' },
      { urls: 'turn:127.0.0.1?transport=tcp', username: 'u', credential: 'p' },
    ]);
  });
  it('demands credentials for TURN and a TURN server for --relay-only', () => {
    expect(() => buildIceConfig({ iceServer: ['turn:127.0.0.1'] })).toThrow(/--ice-username/);
    expect(() => buildIceConfig({ relayOnly: true })).toThrow(/--relay-only/);
  });
  it('validates --ice-address', () => {
    expect(() => buildIceConfig({ iceAddress: 'localhost' })).toThrowError(expect.objectContaining({ code: 'RTC_ERR_BAD_ADDRESS' }));
    expect(buildIceConfig({ iceAddress: '127.0.0.1' }).iceAddress).toBe('127.0.0.1');
  });
});
