/** The engine seam's pure parts: libdatachannel's ICE server list and what the native engine cannot do. */
import { describe, expect, it } from 'vitest';
import { buildIceConfig } from '../../../src/rtc/ice-config.js';
import { nativeIceServers } from '../../../src/rtc/engine/native.js';
import { loadEngine, nativeLimitation } from '../../../src/rtc/engine/load.js';
import { RtcError } from '../../../src/errors.js';

const creds = { iceUsername: 'u', iceCredential: 'p' };

describe('nativeIceServers', () => {
  it('turns URLs into libdatachannel server objects: stun, TURN over UDP, credentials only for TURN', () => {
    const ice = buildIceConfig({ iceServer: ['stun:127.0.0.1:3478', 'turn:[::1]:3479', 'turn:127.0.0.1?transport=udp'], ...creds });
    expect(nativeIceServers(ice)).toEqual([
      { hostname: '127.0.0.1', port: 3478 },
      { hostname: '::1', port: 3479, username: 'u', password: 'p', relayType: 'TurnUdp' },
      { hostname: '127.0.0.1', port: 3478, username: 'u', password: 'p', relayType: 'TurnUdp' },
    ]);
    expect(nativeIceServers(buildIceConfig({}))).toEqual([]);
  });
});

describe('nativeLimitation / loadEngine', () => {
  it('names a TURN server over TCP or TLS, and --relay-only', () => {
    expect(nativeLimitation(buildIceConfig({ iceServer: ['stun:127.0.0.1', 'turn:127.0.0.1'], ...creds }))).toBeUndefined();
    expect(nativeLimitation(buildIceConfig({ iceServer: ['turn:127.0.0.1?transport=tcp'], ...creds }))).toMatch(/UDP only, not turn:127\.0\.0\.1\?transport=tcp/);
    expect(nativeLimitation(buildIceConfig({ iceServer: ['turns:127.0.0.1'], ...creds }))).toMatch(/UDP only, not turns:127\.0\.0\.1/);
    expect(nativeLimitation(buildIceConfig({ iceServer: ['turn:127.0.0.1'], relayOnly: true, ...creds }))).toMatch(/--relay-only strict/);
  });

  it('auto: native when it loads and the ICE servers allow, else werift with the reason; native: a usage error instead', async () => {
    const plain = buildIceConfig({});
    const tcp = buildIceConfig({ iceServer: ['turn:127.0.0.1?transport=tcp'], ...creds });
    expect((await loadEngine('auto', plain)).engine.name).toBe('native');
    expect((await loadEngine('werift', plain)).engine.name).toBe('werift');
    const fallback = await loadEngine('auto', tcp);
    expect(fallback.engine.name).toBe('werift');
    expect(fallback.fallback).toMatch(/UDP only.*; using the werift engine$/);
    const err = await loadEngine('native', tcp).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtcError);
    expect((err as RtcError).code).toBe('RTC_ERR_USAGE');
  });
});
