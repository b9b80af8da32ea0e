/**
 * nat-probe's decisions (src/diagnostics/nat-classify.ts), every branch with its exact words: the label table of
 * RFC 3489 §10.1 over RFC 5780 behaviours, the advice, the adaptive wait, the answers that cannot be real, and the
 * mapping/filtering verdicts with their notes. test/diagnostics/nat-probe.test.ts drives the same decisions
 * through natProbe over fake sockets; this file pins them one by one (`npm run test:mutation` kills their mutants here).
 */
import { describe, expect, it } from 'vitest';
import {
  adaptiveWait,
  classify,
  filteringFrom,
  impossibleAddress,
  mappingFromAlternate,
  mappingFromTwoServers,
  unusableOtherAddress,
  webrtcAdvice,
  type FilteringBehavior,
  type MappingBehavior,
  type NatType,
} from '../../src/diagnostics/nat-classify.js';
import type { Endpoint } from '../../src/stun/endpoint.js';

// Documentation addresses (RFC 5737, RFC 3849): nothing here is sent anywhere.
const P: Endpoint = { address: '198.51.100.1', port: 3478 };
const A: Endpoint = { address: '198.51.100.2', port: 3479 };
const WAN = '203.0.113.254';

describe('classify: RFC 3489 §10.1 labels from RFC 5780 behaviours', () => {
  it('gives the whole table, and "unknown" wherever a behaviour is unknown and it matters', () => {
    const mappings: MappingBehavior[] = ['none', 'endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'unknown'];
    const filterings: FilteringBehavior[] = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'unknown'];
    const table = Object.fromEntries(mappings.map((m) => [m, filterings.map((f) => classify(m, f))]));
    expect(table).toEqual({
      none: ['open', 'symmetric-udp-firewall', 'symmetric-udp-firewall', 'unknown'],
      'endpoint-independent': ['full-cone', 'restricted-cone', 'port-restricted-cone', 'unknown'],
      'address-dependent': ['symmetric', 'symmetric', 'symmetric', 'symmetric'],
      'address-and-port-dependent': ['symmetric', 'symmetric', 'symmetric', 'symmetric'],
      unknown: ['unknown', 'unknown', 'unknown', 'unknown'],
    });
  });
});

describe('webrtcAdvice', () => {
  it('has one sentence per label', () => {
    const labels: NatType[] = ['open', 'full-cone', 'restricted-cone', 'port-restricted-cone', 'symmetric-udp-firewall', 'symmetric', 'udp-blocked', 'unknown'];
    expect(Object.fromEntries(labels.map((l) => [l, webrtcAdvice(l)]))).toEqual({
      open: 'No NAT and no filtering: direct connections work; host candidates alone reach you.',
      'full-cone': 'Direct connections likely: STUN (server-reflexive candidates) is enough with almost any peer.',
      'restricted-cone': 'Direct connections likely: STUN (server-reflexive candidates) is enough with almost any peer.',
      'port-restricted-cone': 'Direct connections likely with STUN, except to peers behind a symmetric NAT: keep a TURN server for those.',
      'symmetric-udp-firewall': 'No NAT, but a stateful firewall: direct works when you send first (ICE does); peers behind symmetric NATs may need TURN.',
      symmetric: 'Symmetric NAT: server-reflexive candidates will not work for most peers; expect to need TURN (relay).',
      'udp-blocked': 'UDP looks blocked: WebRTC will need TURN over TCP or TLS (turn:?transport=tcp, turns: on port 443).',
      unknown: 'Could not determine the NAT type; configure a TURN server to be safe.',
    });
  });

  it('says what is known when only the mapping is', () => {
    expect(webrtcAdvice('unknown', 'none')).toBe(
      'No NAT (your address is public); filtering could not be tested, so a firewall may still block inbound UDP: keep a TURN server to be safe.',
    );
    expect(webrtcAdvice('unknown', 'endpoint-independent')).toBe('Endpoint-independent mapping: STUN candidates should work with most peers; filtering could not be tested.');
    expect(webrtcAdvice('unknown', 'address-dependent')).toBe('Could not determine the NAT type; configure a TURN server to be safe.');
    // A known label wins over the mapping hint.
    expect(webrtcAdvice('open', 'none')).toBe(webrtcAdvice('open'));
    expect(webrtcAdvice('full-cone', 'endpoint-independent')).toBe(webrtcAdvice('full-cone'));
  });
});

describe('adaptiveWait', () => {
  it('is ten round trips, at least 1 s and at most 3 s, in whole milliseconds', () => {
    expect([0, 50, 99.96, 100, 123.44, 123.46, 300, 301].map(adaptiveWait)).toEqual([1000, 1000, 1000, 1000, 1234, 1235, 3000, 3000]);
  });
});

describe('impossibleAddress: answers no real server gives', () => {
  it('names what is wrong, or nothing for a plausible address', () => {
    const v4 = (address: string, port = 1): string | undefined => impossibleAddress({ address, port }, 4);
    const v6 = (address: string, port = 1): string | undefined => impossibleAddress({ address, port }, 6);
    expect(v4('not-an-ip')).toBe('"not-an-ip" is not an IP address');
    expect(v4('2001:db8::1')).toBe('an IPv6 address for an IPv4 probe');
    expect(v6('192.0.2.1')).toBe('an IPv4 address for an IPv6 probe');
    expect([0, -1, 65536, 1.5].map((p) => v4('192.0.2.1', p))).toEqual(['port 0', 'port -1', 'port 65536', 'port 1.5']);
    expect([1, 65535].map((p) => v4('192.0.2.1', p))).toEqual([undefined, undefined]);
    expect(v4('0.0.0.0')).toBe('the unspecified address');
    expect(v6('::')).toBe('the unspecified address');
    expect(v4('255.255.255.255')).toBe('the broadcast address');
    expect(['224.0.0.1', '230.1.2.3', '239.255.255.255'].map((a) => v4(a))).toEqual(Array(3).fill('a multicast address'));
    expect(['223.255.255.255', '240.0.0.1', '2.224.0.1'].map((a) => v4(a))).toEqual([undefined, undefined, undefined]);
    expect(v6('ff02::1')).toBe('a multicast address');
    expect(v6('FF05::2')).toBe('a multicast address');
    expect(v6('2001:db8::ff')).toBeUndefined();
    expect(v4('::ffff:192.0.2.1')).toBeUndefined();
    expect(v4('::ffff:0.0.0.0')).toBe('the unspecified address');
  });
});

describe('mapping (RFC 5780 §4.3)', () => {
  const m1 = { address: WAN, port: 1 };
  const m2 = { address: WAN, port: 2 };

  it('from the alternate address: M2 = M1 endpoint-independent; M3 = M2 address-dependent; otherwise by port', () => {
    expect(mappingFromAlternate(m1, { address: `::ffff:${WAN}`, port: 1 })).toBe('endpoint-independent');
    expect(mappingFromAlternate(m1, m1, { address: WAN, port: 9 })).toBe('endpoint-independent');
    expect(mappingFromAlternate(m1, m2, m2)).toBe('address-dependent');
    expect(mappingFromAlternate(m1, m2, { address: WAN, port: 3 })).toBe('address-and-port-dependent');
    expect(mappingFromAlternate(m1, m2)).toBe('unknown');
    expect(mappingFromAlternate(m1, undefined, m2)).toBe('unknown');
    expect(mappingFromAlternate(m1)).toBe('unknown');
  });

  it('from two servers, with the notes that say what two servers cannot tell', () => {
    const other = { address: '198.51.100.9', port: 3478 };
    const samePlace = { address: P.address.toUpperCase(), port: 5000 };
    expect(mappingFromTwoServers(m1, m1, P, other)).toEqual({ mapping: 'endpoint-independent', symmetric: false });
    expect(mappingFromTwoServers(m1, m1, P, samePlace)).toEqual({
      mapping: 'unknown',
      symmetric: false,
      note: 'the two servers share an address: the same mapping to both rules out address-and-port-dependent mapping, but cannot tell endpoint-independent from address-dependent (use servers on two addresses)',
    });
    expect(mappingFromTwoServers(m1, m2, P, samePlace)).toEqual({ mapping: 'address-and-port-dependent', symmetric: false });
    expect(mappingFromTwoServers(m1, m2, P, { address: `::ffff:${P.address}`, port: 5000 })).toEqual({ mapping: 'address-and-port-dependent', symmetric: false });
    expect(mappingFromTwoServers(m1, m2, P, other)).toEqual({
      mapping: 'unknown',
      symmetric: true,
      note: 'the mapping changes with the destination (address-dependent or address-and-port-dependent: two servers on different addresses cannot tell which); classic type: symmetric',
    });
  });
});

describe('filtering (RFC 5780 §4.4)', () => {
  const altPort = { address: P.address, port: A.port };

  it('from where the answers came: II endpoint-independent, only III address-dependent, neither address-and-port-dependent', () => {
    expect(filteringFrom(P, A, A, altPort)).toEqual({ filtering: 'endpoint-independent', ignoredChangeRequest: false });
    expect(filteringFrom(P, A, A)).toEqual({ filtering: 'endpoint-independent', ignoredChangeRequest: false });
    expect(filteringFrom(P, A, undefined, altPort)).toEqual({ filtering: 'address-dependent', ignoredChangeRequest: false });
    expect(filteringFrom(P, A)).toEqual({ filtering: 'address-and-port-dependent', ignoredChangeRequest: false });
  });

  it('an answer from the primary address: the server ignores CHANGE-REQUEST, filtering unknown', () => {
    const ignored = {
      filtering: 'unknown',
      ignoredChangeRequest: true,
      note: 'the server answered a CHANGE-REQUEST from its primary address (it ignores CHANGE-REQUEST): filtering unknown',
    };
    expect(filteringFrom(P, A, P)).toEqual(ignored);
    expect(filteringFrom(P, A, undefined, P)).toEqual(ignored);
    expect(filteringFrom(P, A, A, P)).toEqual(ignored);
  });

  it('an answer from the wrong socket: filtering unknown, with each wrong source named', () => {
    const tail = ': the server answers from the wrong socket, so filtering is unknown';
    expect(filteringFrom(P, A, altPort)).toEqual({
      filtering: 'unknown',
      ignoredChangeRequest: false,
      note: `the ip+port change request was answered from 198.51.100.1:3479, not 198.51.100.2:3479${tail}`,
    });
    expect(filteringFrom(P, A, undefined, A)).toEqual({
      filtering: 'unknown',
      ignoredChangeRequest: false,
      note: `the port change request was answered from 198.51.100.2:3479, not 198.51.100.1:3479${tail}`,
    });
    expect(filteringFrom(P, A, altPort, A).note).toBe(
      `the ip+port change request was answered from 198.51.100.1:3479, not 198.51.100.2:3479; the port change request was answered from 198.51.100.2:3479, not 198.51.100.1:3479${tail}`,
    );
  });
});

describe('unusableOtherAddress', () => {
  it('accepts an OTHER-ADDRESS that differs in both address and port, and says why any other cannot be used', () => {
    expect(unusableOtherAddress(A, P, 4)).toBeUndefined();
    expect(unusableOtherAddress({ address: A.address, port: 0 }, P, 4)).toBe(
      "the server's OTHER-ADDRESS 198.51.100.2:0 is impossible (port 0): RFC 5780 tests skipped",
    );
    expect(unusableOtherAddress({ address: A.address, port: P.port }, P, 4)).toBe(
      "the server's OTHER-ADDRESS 198.51.100.2:3478 does not differ from 198.51.100.1:3478 in both address and port; RFC 5780 tests need two of each",
    );
    expect(unusableOtherAddress({ address: `::ffff:${P.address}`, port: A.port }, P, 4)).toBe(
      "the server's OTHER-ADDRESS [::ffff:198.51.100.1]:3479 does not differ from 198.51.100.1:3478 in both address and port; RFC 5780 tests need two of each",
    );
    expect(unusableOtherAddress({ address: '2001:db8::2', port: 3479 }, { address: '2001:DB8::1', port: 3478 }, 6)).toBeUndefined();
    expect(unusableOtherAddress({ address: '2001:db8::1', port: 3479 }, { address: '2001:DB8::1', port: 3478 }, 6)).toMatch(/^the server's OTHER-ADDRESS \[2001:db8::1\]:3479 does not differ/);
  });
});
