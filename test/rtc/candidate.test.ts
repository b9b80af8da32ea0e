// ICE candidate lines through sdp-transform's grammar (src/rtc/candidate.ts): RFC 8839 §5.1 shapes as werift and
// browsers write them, all-digit foundations kept as text, malformed or hostile lines refused without a throw, and
// the de-duplication key used by trickle ICE.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidateExtension, candidateKey, formatCandidateCore, parseCandidate, sdpCandidates } from '../../src/rtc/candidate.js';

describe('parseCandidate', () => {
  it('reads host, srflx, relay and TCP candidates, with or without the a= / candidate: prefix', () => {
    expect(parseCandidate('a=candidate:5 1 udp 16777215 127.0.0.1 60000 typ relay raddr 127.0.0.1 rport 40000')).toEqual({
      foundation: '5', component: 1, protocol: 'udp', priority: 16777215, address: '127.0.0.1', port: 60000, type: 'relay', relatedAddress: '127.0.0.1', relatedPort: 40000,
    });
    const host = { foundation: 'a1b2', component: 1, protocol: 'udp', priority: 2130706431, address: '::1', port: 5000, type: 'host' };
    expect(parseCandidate('candidate:a1b2 1 UDP 2130706431 ::1 5000 typ host')).toEqual(host);
    expect(parseCandidate('a1b2 1 udp 2130706431 ::1 5000 typ host')).toEqual(host);
    expect(parseCandidate('  candidate:a1b2  1 udp\t2130706431 ::1 5000 typ host  ')).toEqual(host);
    expect(parseCandidate('candidate:9 1 tcp 1518280447 192.0.2.5 9 typ host tcptype active generation 0 network-id 3')).toMatchObject({ protocol: 'tcp', port: 9, tcpType: 'active' });
    expect(parseCandidate('candidate:3 1 udp 1694498815 203.0.113.9 50000 typ srflx raddr 0.0.0.0 rport 0')).toMatchObject({ type: 'srflx', relatedAddress: '0.0.0.0', relatedPort: 0 });
    // Chromium hides host addresses behind mDNS names (draft-ietf-mmusic-mdns-ice-candidates).
    expect(parseCandidate('candidate:1 1 udp 2122260223 4c1a8a3e-7f7e-4d4e-9c2a-2b1d9c0e1f00.local 54321 typ host generation 0 ufrag 0123 network-cost 999')).toMatchObject({
      address: '4c1a8a3e-7f7e-4d4e-9c2a-2b1d9c0e1f00.local',
      port: 54321,
    });
  });

  it('keeps an all-digit foundation as the text it was (sdp-transform turns "123" into a number)', () => {
    expect(parseCandidate('candidate:123 1 udp 1 10.0.0.1 1 typ host')?.foundation).toBe('123');
    expect(parseCandidate('candidate:0123 1 udp 1 10.0.0.1 1 typ host')?.foundation).toBe('0123');
    expect(parseCandidate('candidate:98765432109876543210 1 udp 1 10.0.0.1 1 typ host')?.foundation).toBe('98765432109876543210');
  });

  it('refuses malformed lines: missing fields, non-numbers, out-of-range numbers, a second line', () => {
    const bad = [
      '',
      'candidate:',
      'candidate:garbage',
      'candidate:1 1 udp 1 10.0.0.1 1 host',
      'candidate:1 1 udp 1 10.0.0.1 typ host',
      'candidate:1 x udp 1 10.0.0.1 1 typ host',
      'candidate:1 1 udp 1 10.0.0.1 x typ host',
      'candidate:1 1 udp -1 10.0.0.1 1 typ host',
      'candidate:1 1 udp 1.5 10.0.0.1 1 typ host',
      'candidate:1 1 udp 1 10.0.0.1 65536 typ host',
      'candidate:1 0 udp 1 10.0.0.1 1 typ host',
      'candidate:1 1 udp 2147483648 10.0.0.1 1 typ host',
      'candidate:1 1 udp 99999999999999999999 10.0.0.1 1 typ host',
      'candidate:1 1 udp 1 10.0.0.1 1 typ host\na=candidate:2 1 udp 1 10.6.6.6 1 typ host',
      'candidate:1 1 udp 1 10.0.0.1 1 typ host\r\n',
    ];
    for (const line of bad) expect(parseCandidate(line), JSON.stringify(line)).toBeUndefined();
    // Edge values that are valid.
    expect(parseCandidate('candidate:1 256 udp 2147483647 10.0.0.1 65535 typ host')).toMatchObject({ component: 256, priority: 2147483647, port: 65535 });
  });

  it('never throws, whatever the text (property)', () => {
    const piece = fc.oneof(fc.string(), fc.constantFrom('candidate:', 'a=', ' typ ', ' raddr ', ' rport ', ' tcptype ', '1', 'udp', '::1', '\n', '\r'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
        const line = parts.join(' ');
        const c = parseCandidate(line);
        if (c) {
          expect(Number.isInteger(c.port) && c.port >= 0 && c.port <= 65535).toBe(true);
          expect(line).not.toMatch(/[\r\n]/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back what formatCandidateCore writes (property)', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9+/]{1,32}$/);
    fc.assert(
      fc.property(token, fc.integer({ min: 1, max: 256 }), fc.constantFrom('udp', 'tcp'), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.ipV4(), fc.integer({ min: 0, max: 65535 }), fc.constantFrom('host', 'srflx', 'prflx', 'relay'), (foundation, component, protocol, priority, address, port, type) => {
        const c = { foundation, component, protocol, priority, address, port, type };
        expect(parseCandidate(`candidate:${formatCandidateCore(c)}`)).toEqual(c);
      }),
      { numRuns: 500 },
    );
  });
});

describe('candidateExtension', () => {
  it('reads an extension sdp-transform does not name (ufrag) as text, only from a well-formed candidate', () => {
    const c = 'candidate:1 1 udp 16777215 127.0.0.1 50095 typ relay raddr 127.0.0.1 rport 59952 generation 0 ufrag 0917';
    expect(candidateExtension(c, 'ufrag')).toBe('0917');
    expect(candidateExtension(`a=${c}`, 'generation')).toBe('0');
    expect(candidateExtension(c, 'network-id')).toBeUndefined();
    // A field of the fixed part is not an extension, even when its text looks like one.
    expect(candidateExtension('candidate:ufrag 1 udp 1 10.0.0.1 1 typ host', 'ufrag')).toBeUndefined();
    expect(candidateExtension('candidate:1 1 udp 1 10.0.0.1 x typ host ufrag abc', 'ufrag')).toBeUndefined();
    expect(candidateExtension('candidate:1 1 udp 1 10.0.0.1 1 typ host ufrag', 'ufrag')).toBeUndefined();
  });
});

describe('candidateKey', () => {
  it('is the same for one candidate however it is written, and differs between candidates', () => {
    const k = candidateKey('candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0');
    expect(candidateKey('a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host network-id 1 generation 0')).toBe(k);
    expect(k).toBe('1 1 udp 2130706431 127.0.0.1 40000 typ host');
    expect(candidateKey('candidate:1 1 udp 2130706431 127.0.0.1 40001 typ host')).not.toBe(k);
    expect(candidateKey('candidate:nonsense here')).toBe('candidate:nonsense here');
  });
});

describe('sdpCandidates', () => {
  it('collects session-level and m-section candidates of a whole SDP and leaves malformed lines out', () => {
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=candidate:0 1 udp 1 10.0.0.9 9 typ host',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
      'a=candidate:2 1 udp 1 10.0.0.1 99999 typ host',
      'a=candidate:3 1 udp 16777215 127.0.0.1 60000 typ relay raddr 127.0.0.1 rport 40000',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=candidate:4 1 udp 1 ::1 5 typ srflx raddr ::1 rport 6',
      '',
    ].join('\r\n');
    expect(sdpCandidates(sdp).map((c) => `${c.foundation} ${c.type} ${c.address}:${c.port}`)).toEqual(['0 host 10.0.0.9:9', '1 host 127.0.0.1:40000', '3 relay 127.0.0.1:60000', '4 srflx ::1:5']);
    expect(sdpCandidates('')).toEqual([]);
    expect(sdpCandidates('not an sdp at all')).toEqual([]);
  });
});
